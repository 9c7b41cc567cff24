using Marketplace.Client.Resolution;
using Marketplace.Client.Verification;
using Marketplace.Signing;

namespace Marketplace.Client.Installing;

/// <summary>
/// The registry as the resolver's source. Dependencies come from the signed publish statement, not from the version
/// document: a graph is never shaped by data its publisher did not sign. Answers are cached for one install.
/// </summary>
public sealed class RegistryPackageSource(MarketplaceClient client) : IPackageSource
{
    private readonly Dictionary<string, IReadOnlyList<AvailableVersion>?> _packages = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (VersionInfo Version, PublishStatement Statement)> _versions = new(StringComparer.Ordinal);

    public async ValueTask<IReadOnlyList<AvailableVersion>?> GetVersionsAsync(string name, CancellationToken cancellationToken)
    {
        if (_packages.TryGetValue(name, out var cached)) return cached;
        IReadOnlyList<AvailableVersion>? versions;
        try
        {
            var package = await client.GetPackageAsync(name, cancellationToken);
            versions = package.Versions.Select(v => new AvailableVersion(v.Version, v.Yanked)).ToList();
        }
        catch (MarketplaceApiException e) when (e.IsNotFound)
        {
            versions = null;
        }
        return _packages[name] = versions;
    }

    public async ValueTask<IReadOnlyDictionary<string, string>> GetDependenciesAsync(string name, string version, CancellationToken cancellationToken) =>
        (await VerifiedVersionAsync(name, version, cancellationToken)).Statement.Manifest.Dependencies ?? new Dictionary<string, string>();

    /// <summary>The version document with its envelope verified (signature, and the statement against the document).</summary>
    public async Task<(VersionInfo Version, PublishStatement Statement)> VerifiedVersionAsync(string name, string version, CancellationToken cancellationToken)
    {
        var key = name + "@" + version;
        if (_versions.TryGetValue(key, out var cached)) return cached;
        var info = await client.GetVersionAsync(name, version, cancellationToken);
        return _versions[key] = (info, PublishVerifier.VerifyEnvelope(info));
    }
}
