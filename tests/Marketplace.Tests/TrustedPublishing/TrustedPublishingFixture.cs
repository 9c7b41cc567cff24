using System.Text.Json;
using Alba;
using Marketplace.Signing;
using Marketplace.Tests.Shared;
using Marketplace.Tests.Support;
using TestPackages = Marketplace.Tests.Support.Packages;
using NSec.Cryptography;

namespace Marketplace.Tests.TrustedPublishing;

/// <summary>
/// A marketplace that trusts two local OIDC issuers run by the test: a GitHub-kind one with an explicit audience and a
/// GitLab-kind one whose audience is the default (the registry's origin, <c>http://localhost</c> under Alba). The
/// registry key is a known seed, so tests can sign certificates the registry would (expired ones, say).
/// </summary>
public sealed class TrustedPublishingFixture() : MarketplaceFixture(HostProfile.Default), IAsyncLifetime
{
    public const string Audience = "https://registry.test";
    public const string DefaultAudience = "http://localhost";
    public byte[] RegistrySeed { get; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
    public LocalOidcIssuer GitHub { get; private set; } = null!;
    public LocalOidcIssuer GitLab { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        GitHub = await LocalOidcIssuer.StartAsync("/github");
        GitLab = await LocalOidcIssuer.StartAsync("/gitlab");
        await base.InitializeAsync();
    }

    protected override Task<IReadOnlyDictionary<string, string?>> ServiceSettingsAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>
        {
            ["Registry:SigningKey"] = Convert.ToBase64String(RegistrySeed),
            ["TrustedPublishing:Issuers:0:Issuer"] = GitHub.Issuer,
            ["TrustedPublishing:Issuers:0:Kind"] = "github",
            ["TrustedPublishing:Issuers:0:Audience"] = Audience,
            ["TrustedPublishing:Issuers:1:Issuer"] = GitLab.Issuer,
            ["TrustedPublishing:Issuers:1:Kind"] = "gitlab",
            ["TrustedPublishing:KeyRefreshMinInterval"] = "00:00:00",
        });

    async Task IAsyncLifetime.DisposeAsync()
    {
        await base.DisposeAsync();
        await GitHub.DisposeAsync();
        await GitLab.DisposeAsync();
    }

    /// <summary>Signs a certificate payload with the registry's key, as the exchange does.</summary>
    public DsseEnvelope SignAsRegistry(Marketplace.TrustedPublishing.PublisherCertificate certificate)
    {
        using var registry = new StatementSigner(Key.Import(SignatureAlgorithm.Ed25519, RegistrySeed, KeyBlobFormat.RawPrivateKey));
        return registry.SignBytes(PayloadTypes.PublisherCertificate, certificate.Serialize());
    }
}

[CollectionDefinition("trusted publishing")]
public sealed class TrustedPublishingCollection : ICollectionFixture<TrustedPublishingFixture>;

public static class TrustedRequests
{
    public static object Statement(StatementSigner owner, string action, string name, string? issuer = null, string? repository = null,
        string? workflow = null, string? environment = null, bool? required = null) => new
    {
        envelope = owner.Sign(PayloadTypes.TrustedPublisher,
            new TrustedPublisherStatement(action, name, issuer, repository, workflow, environment, required, DateTimeOffset.UtcNow)),
        publicKey = owner.Owner.PublicKey,
    };

    public static Task<(int Status, string? Code, JsonElement Body)> ChangeAsync(this IAlbaHost host, string name, object body) =>
        host.Send(s => s.Post.Json(body).ToUrl($"/v1/packages/{name}/trusted-publishers"));

    public static Task<(int Status, string? Code, JsonElement Body)> ExchangeAsync(this IAlbaHost host, string token, string name, OwnerKey key) =>
        host.Send(s => s.Post.Json(new { token, name, publicKey = key.PublicKey }).ToUrl("/v1/trusted-publishing/exchange"));

    public static Task<(int Status, string? Code, JsonElement Body)> PublishCertifiedAsync(this IAlbaHost host, StatementSigner ephemeral,
        string name, string version, byte[] blob, object? certificate) =>
        host.Send(s => s.Put.Json(new
        {
            envelope = ephemeral.Sign(PayloadTypes.Publish, TestPackages.Statement(name, version, blob)),
            publicKey = ephemeral.Owner.PublicKey,
            blob = Convert.ToBase64String(blob),
            certificate,
        }).ToUrl($"/v1/packages/{name}/{version}"));
}
