using Marketplace.Tests.Shared;

namespace Marketplace.Client.Tests.Support;

/// <summary>
/// The registry trusting a local OIDC issuer of GitHub's kind (audience: the registry's origin, the default), with a
/// known registry key seed so a test can play a registry that logs what it should have refused.
/// </summary>
public sealed class TrustedRegistry : RegistryFixture
{
    public LocalOidcIssuer Issuer { get; private set; } = null!;
    public byte[] RegistrySeed { get; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    protected override async Task<IReadOnlyDictionary<string, string>> MoreSettingsAsync()
    {
        Issuer = await LocalOidcIssuer.StartAsync("/github");
        return new Dictionary<string, string>
        {
            ["Registry:SigningKey"] = Convert.ToBase64String(RegistrySeed),
            ["TrustedPublishing:Issuers:0:Issuer"] = Issuer.Issuer,
            ["TrustedPublishing:Issuers:0:Kind"] = "github",
        };
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Issuer.DisposeAsync();
    }
}

[CollectionDefinition("trusted")]
public sealed class TrustedCollection : ICollectionFixture<TrustedRegistry>;
