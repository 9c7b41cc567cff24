using Marketplace.Signing;
using Marketplace.TrustedPublishing;

namespace Marketplace.Packages;

/// <summary>Pure decisions over a package stream: state + command + now → events, or a domain error.</summary>
public static class PackageDecider
{
    public sealed record Publish(string Name, string DisplayName, SemanticVersion Version, string Sha256, long Size,
        PackageManifest Manifest, OwnerKey Signer, DsseEnvelope Envelope)
    {
        /// <summary>A publish by a key the registry certified for a trusted publisher (a verified certificate), else null.</summary>
        public CertifiedKey? Certified { get; init; }
    }

    /// <summary>A verified publisher certificate for the signing key, and the envelope it came in.</summary>
    public sealed record CertifiedKey(PublisherCertificate Certificate, DsseEnvelope Envelope);

    public sealed record Yank(string Name, SemanticVersion Version, bool Yanked, string? Reason, OwnerKey Signer);

    public sealed record ChangeOwner(string Name, bool Add, string KeyId, string? PublicKey, OwnerKey Signer);

    public static Outcome<object[]> Decide(PackageState? state, Publish c, DateTimeOffset now)
    {
        if (c.Certified is { } certified)
        {
            // Who may publish: an owner's key, or a key certified for this package under a trusted publisher an owner named
            // (and still names: removing a publisher stops certificates already given out).
            var publisher = certified.Certificate.Publisher;
            if (state is null || !state.TrustedPublishers.Any(p => p.Covers(publisher)))
                return DomainError.UntrustedPublisher(
                    $"{publisher.Repository} ({publisher.Workflow}) is not a trusted publisher of {c.Name} any more.");
            if (state.Versions.ContainsKey(c.Version.Key))
                return DomainError.VersionExists(state.DisplayName, c.Version.Key);
            return new object[] { Published(c, now) with { Provenance = certified.Certificate.Provenance, Certificate = certified.Envelope } };
        }
        if (state is null)
        {
            // The key that signs the first publish of a name becomes its first owner.
            return new object[]
            {
                new OwnerAdded(c.Name, c.Signer.KeyId, c.Signer.PublicKey, c.Signer.KeyId, now),
                Published(c, now),
            };
        }
        if (!state.IsOwner(c.Signer.KeyId))
            return DomainError.NotOwner(c.Name, c.Signer.KeyId);
        if (state.RequireTrustedPublishing)
            return DomainError.TrustedPublishingRequired(state.DisplayName);
        if (state.Versions.ContainsKey(c.Version.Key))
            return DomainError.VersionExists(state.DisplayName, c.Version.Key);
        return new object[] { Published(c, now) };
    }

    private static PackagePublished Published(Publish c, DateTimeOffset now) =>
        new(c.Name, c.DisplayName, c.Version.Text, c.Sha256, c.Size, c.Manifest, c.Signer.KeyId, c.Signer.PublicKey, c.Envelope, now);

    public static Outcome<object[]> Decide(PackageState? state, Yank c, DateTimeOffset now)
    {
        if (state is null)
            return DomainError.NotFound($"Package {c.Name} does not exist.");
        if (!state.IsOwner(c.Signer.KeyId))
            return DomainError.NotOwner(c.Name, c.Signer.KeyId);
        if (!state.Versions.TryGetValue(c.Version.Key, out var version))
            return DomainError.NotFound($"{c.Name} has no version {c.Version.Key}.");
        if (version.Yanked == c.Yanked)
            return Array.Empty<object>();
        return c.Yanked
            ? new object[] { new VersionYanked(c.Name, c.Version.Key, c.Reason, c.Signer.KeyId, now) }
            : new object[] { new VersionUnyanked(c.Name, c.Version.Key, c.Signer.KeyId, now) };
    }

    public static Outcome<object[]> Decide(PackageState? state, ChangeOwner c, DateTimeOffset now)
    {
        if (state is null)
            return DomainError.NotFound($"Package {c.Name} does not exist.");
        if (!state.IsOwner(c.Signer.KeyId))
            return DomainError.NotOwner(c.Name, c.Signer.KeyId);
        if (c.Add)
        {
            return state.IsOwner(c.KeyId)
                ? Array.Empty<object>()
                : new object[] { new OwnerAdded(c.Name, c.KeyId, c.PublicKey!, c.Signer.KeyId, now) };
        }
        if (!state.IsOwner(c.KeyId))
            return DomainError.NotFound($"Key {c.KeyId} is not an owner of {c.Name}.");
        if (state.Owners.Count == 1)
            return DomainError.LastOwner(c.Name);
        return new object[] { new OwnerRemoved(c.Name, c.KeyId, c.Signer.KeyId, now) };
    }
}
