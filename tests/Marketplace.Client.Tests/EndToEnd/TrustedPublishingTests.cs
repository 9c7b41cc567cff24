using System.Security.Cryptography;
using Marketplace.Cli;
using Marketplace.Client.Tests.Support;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.TrustedPublishing;
using NSec.Cryptography;

namespace Marketplace.Client.Tests.EndToEnd;

/// <summary>
/// The "Publishing from CI" steps of docs/client.md, run as written against a local OIDC issuer: an owner names the workflow, the
/// CI job publishes with <c>mkt publish . --trusted</c> and no key of its own, and <c>mkt install</c> proves where the
/// version was built — and refuses it when the log shows the publisher was named only after the publish.
/// </summary>
[Collection("trusted")]
public sealed class TrustedPublishingTests(TrustedRegistry registry)
{
    private const string Repository = "octo-org/widgets";
    private const string Workflow = "release.yml";

    private async Task<(CliRunner Owner, string Name)> OwnedPackageAsync(string prefix)
    {
        var owner = new CliRunner(registry.Url);
        await owner.OkAsync("key", "new");
        var name = PackageFolders.Unique(prefix);
        await owner.OkAsync("publish", PackageFolders.Create(owner.WorkingDirectory, name, "1.0.0"), "--wait");
        return (owner, name);
    }

    [Fact]
    public async Task a_github_actions_job_publishes_with_trusted_and_install_verifies_the_workflow_that_built_it()
    {
        var (runner, name) = await OwnedPackageAsync("gha");
        using var owner = runner;
        await owner.OkAsync("trusted", "add", name, "--issuer", registry.Issuer.Issuer, "--repository", Repository, "--workflow", Workflow,
            "--environment", "release");
        var listed = (await owner.OkAsync("trusted", "list", name, "--json")).Json;
        Assert.Equal(Repository, Assert.Single(listed.GetProperty("trustedPublishers").EnumerateArray()).GetProperty("repository").GetString());

        // The CI job: no keyring, only GitHub's token request variables.
        using var ci = new CliRunner(registry.Url);
        ci.Variables["ACTIONS_ID_TOKEN_REQUEST_URL"] = registry.Issuer.TokenEndpoint;
        ci.Variables["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = registry.Issuer.RequestToken;
        registry.Issuer.GitHubJob = audience => registry.Issuer.GitHubClaims(audience, Repository, Workflow, environment: "release");
        var folder = PackageFolders.Create(ci.WorkingDirectory, name, "2.0.0");
        ci.WorkingDirectory = folder;
        // The GitHub Actions step of docs/client.md, as written.
        var published = await ci.OkAsync("publish", ".", "--trusted", "--wait");
        Assert.Contains("(certified for this workflow run)", published.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(ci.Home, "keys.json")), "a trusted publish keeps no key");

        // Trusted publishing only: the owner's own key can no longer publish.
        await owner.OkAsync("trusted", "require", name, "on");
        var refused = await owner.ExpectAsync(ExitCodes.Failure, "publish", PackageFolders.Create(owner.WorkingDirectory, name, "3.0.0"));
        Assert.Contains("trusted-publishing-required", refused.Error, StringComparison.Ordinal);

        await registry.CaughtUpAsync();
        using var consumer = new CliRunner(registry.Url);
        var installed = (await consumer.OkAsync("install", $"{name}@2.0.0", "--dir", consumer.Path("out"), "--json")).Json;
        Assert.Contains(name, installed.ToString(), StringComparison.Ordinal);
        Assert.True(File.Exists(consumer.Path("out", name, "lib", "index.txt")));
        var info = (await consumer.OkAsync("info", $"{name}@2.0.0", "--json")).Json;
        Assert.Equal(Repository, info.GetProperty("provenance").GetProperty("repository").GetString());
        Assert.Equal("release", info.GetProperty("provenance").GetProperty("environment").GetString());
        Assert.Contains($"signed by {info.GetProperty("keyId").GetString()}", published.Out, StringComparison.Ordinal);
        Assert.Contains("built by", (await consumer.OkAsync("info", $"{name}@2.0.0")).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task elsewhere_the_token_comes_from_MKT_ID_TOKEN_and_is_exchanged_only_once()
    {
        var (runner, name) = await OwnedPackageAsync("oidc");
        using var owner = runner;
        await owner.OkAsync("trusted", "add", name, "--issuer", registry.Issuer.Issuer, "--repository", Repository, "--workflow", Workflow);

        using var ci = new CliRunner(registry.Url);
        ci.Variables["MKT_ID_TOKEN"] = registry.Issuer.Mint(registry.Issuer.GitHubClaims(registry.Url.GetLeftPart(UriPartial.Authority)), "ES256");
        // The GitLab step of docs/client.md, as written (the job's id_tokens entry sets MKT_ID_TOKEN).
        ci.WorkingDirectory = PackageFolders.Create(ci.WorkingDirectory, name, "2.0.0");
        var published = await ci.OkAsync("publish", ".", "--trusted", "--wait");
        Assert.Contains("(certified for this workflow run)", published.Out, StringComparison.Ordinal);
        var replayed = await ci.ExpectAsync(ExitCodes.Conflict, "publish", PackageFolders.Create(ci.WorkingDirectory, name, "2.0.1"), "--trusted");
        Assert.Contains("token-replayed", replayed.Error, StringComparison.Ordinal);

        ci.Variables.Remove("MKT_ID_TOKEN");
        var missing = await ci.ExpectAsync(ExitCodes.Usage, "publish", PackageFolders.Create(ci.WorkingDirectory, name, "2.0.2"), "--trusted");
        Assert.Contains("MKT_ID_TOKEN", missing.Error, StringComparison.Ordinal);

        // Another workflow of the same repository is not the publisher the owner named.
        ci.Variables["MKT_ID_TOKEN"] = registry.Issuer.Mint(registry.Issuer.GitHubClaims(registry.Url.GetLeftPart(UriPartial.Authority), workflow: "ci.yml"));
        var untrusted = await ci.ExpectAsync(ExitCodes.Failure, "publish", PackageFolders.Create(ci.WorkingDirectory, name, "2.0.3"), "--trusted");
        Assert.Contains("untrusted-publisher", untrusted.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// A registry that logged a certified publish before any owner named its publisher (what an honest one refuses): the
    /// certificate is genuine, the log proofs hold, and install still refuses, from the order of the logged history. The same
    /// events in the honest order install.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task install_refuses_a_version_whose_trusted_publisher_was_named_only_after_it_was_published(bool namedAfter)
    {
        var (runner, name) = await OwnedPackageAsync(namedAfter ? "late" : "early");
        using var owner = runner;
        var ownerKeyId = (await owner.OkAsync("owners", "list", name, "--json")).Json.GetProperty("owners")[0].GetProperty("keyId").GetString()!;
        var archive = owner.Path("v2.tar.gz");
        await owner.OkAsync("pack", PackageFolders.Create(owner.WorkingDirectory, name, "2.0.0"), "-o", archive);
        var blob = await File.ReadAllBytesAsync(archive);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(blob));
        Directory.CreateDirectory(Path.GetDirectoryName(registry.BlobPath(sha256))!);
        await File.WriteAllBytesAsync(registry.BlobPath(sha256), blob);

        using var ephemeral = StatementSigner.Generate();
        var now = DateTimeOffset.UtcNow;
        var job = new WorkloadIdentity(registry.Issuer.Issuer, Repository, Repository, Workflow, "refs/tags/v2.0.0", "abc", "9", null);
        var certificate = PublisherCertificate.For(name, ephemeral.Owner, job, now);
        using var registryKey = new StatementSigner(Key.Import(SignatureAlgorithm.Ed25519, registry.RegistrySeed, KeyBlobFormat.RawPrivateKey));
        var certificateEnvelope = registryKey.SignBytes(PayloadTypes.PublisherCertificate, certificate.Serialize());
        var manifest = new PackageManifest(Description: $"The {name} package", License: "MIT");
        var envelope = ephemeral.Sign(PayloadTypes.Publish, new PublishStatement(name, "2.0.0", sha256, blob.Length, manifest, now));
        var published = new PackagePublished(name, name, "2.0.0", sha256, blob.Length, manifest, ephemeral.Owner.KeyId, ephemeral.Owner.PublicKey, envelope, now)
        {
            Provenance = certificate.Provenance,
            Certificate = certificateEnvelope,
        };
        var named = new TrustedPublisherAdded(name, registry.Issuer.Issuer, Repository, Workflow, null, ownerKeyId, now);
        await using (var session = registry.Store.LightweightSession())
        {
            session.Events.Append(name, namedAfter ? [published, named] : [named, published]);
            await session.SaveChangesAsync();
        }
        await registry.CaughtUpAsync();

        using var consumer = new CliRunner(registry.Url);
        if (namedAfter)
        {
            var refused = await consumer.ExpectAsync(ExitCodes.Verification, "install", $"{name}@2.0.0", "--dir", consumer.Path("out"));
            Assert.Contains("untrusted-publisher-at-publish", refused.Error, StringComparison.Ordinal);
            Assert.Contains("which no owner had named as a trusted publisher", refused.Error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(consumer.Path("out")));
        }
        else
        {
            await consumer.OkAsync("install", $"{name}@2.0.0", "--dir", consumer.Path("out"));
        }
    }
}
