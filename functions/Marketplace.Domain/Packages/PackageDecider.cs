using Marketplace.Blobs;
using Marketplace.Signing;
using Marketplace.TrustedPublishing;

namespace Marketplace.Packages;

/// <summary>
/// Pure decisions over a package stream: state + command + now → events, or a domain error. The statements that ask for
/// them are checked and turned into commands below (<see cref="PackageStatements"/>), in the same file so a request is
/// followed from its statement to its events in one place.
/// </summary>
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

/// <summary>
/// A verified package statement checked against the request's path and turned into the decider's command. Pure; no I/O.
/// </summary>
public static class PackageStatements
{
    /// <param name="pathName">The name as the path spells it.</param>
    /// <param name="maxBlobBytes">The registry's blob size limit.</param>
    public static DomainError? CheckPublish(PublishStatement s, string pathName, SemanticVersion version, long maxBlobBytes)
    {
        // Exact spelling: the first publish's spelling is the package's display name, so it is signed as such.
        if (s.Name != pathName)
            return DomainError.StatementMismatch($"The statement names '{s.Name}', the path '{pathName}'; sign the spelling you publish.");
        if (s.Version != version.Text)
            return DomainError.StatementMismatch($"The statement names version '{s.Version}', the path '{version.Text}'.");
        if (!Digest.IsSha256Hex(s.Sha256))
            return DomainError.InvalidDigest("sha256 must be 64 lowercase hex characters.");
        if (s.Size <= 0)
            return DomainError.InvalidStatement("size must be a positive byte count.");
        if (s.Size > maxBlobBytes)
            return DomainError.TooLarge($"Blobs are at most {maxBlobBytes} bytes.");
        return ManifestRules.Validate(s.Manifest);
    }

    /// <param name="name">The normalised package name of the path.</param>
    /// <param name="pathName">The name as the path spells it.</param>
    /// <param name="version">The path's version.</param>
    /// <param name="pathVersion">The version as the path spells it.</param>
    public static Outcome<PackageDecider.Yank> Yank(
        YankStatement s, string name, string pathName, SemanticVersion version, string pathVersion, OwnerKey signer)
    {
        if (s.Action is not ("yank" or "unyank"))
            return DomainError.InvalidStatement("action must be 'yank' or 'unyank'.");
        if (PackageName.Normalize(s.Name).Value != name)
            return DomainError.StatementMismatch($"The statement names '{s.Name}', the path '{pathName}'.");
        if (SemanticVersion.Parse(s.Version).Value?.Key != version.Key)
            return DomainError.StatementMismatch($"The statement names version '{s.Version}', the path '{pathVersion}'.");
        if (s.Reason is { Length: > 1024 })
            return DomainError.InvalidStatement("reason has at most 1024 characters.");
        var yank = s.Action == "yank";
        return new PackageDecider.Yank(name, version, yank, yank ? s.Reason : null, signer);
    }

    /// <param name="name">The normalised package name of the path.</param>
    /// <param name="pathName">The name as the path spells it.</param>
    public static Outcome<PackageDecider.ChangeOwner> ChangeOwner(OwnersStatement s, string name, string pathName, OwnerKey signer)
    {
        if (s.Action is not ("add" or "remove"))
            return DomainError.InvalidStatement("action must be 'add' or 'remove'.");
        if (PackageName.Normalize(s.Name).Value != name)
            return DomainError.StatementMismatch($"The statement names '{s.Name}', the path '{pathName}'.");

        var add = s.Action == "add";
        string? publicKey = null;
        if (add || s.PublicKey is not null)
        {
            var key = OwnerKey.Parse(s.PublicKey);
            if (!key.TryGet(out var ownerKey, out var keyError)) return keyError;
            if (ownerKey.KeyId != s.KeyId)
                return DomainError.InvalidStatement($"keyId {s.KeyId} is not the id of the statement's publicKey ({ownerKey.KeyId}).");
            publicKey = ownerKey.PublicKey;
        }
        else if (s.KeyId is not { Length: 40 } || !s.KeyId.StartsWith("ed25519:", StringComparison.Ordinal)
                 || !s.KeyId[8..].All(char.IsAsciiHexDigitLower))
        {
            return DomainError.InvalidStatement("keyId must be 'ed25519:' followed by 32 lowercase hex characters.");
        }
        return new PackageDecider.ChangeOwner(name, add, s.KeyId, publicKey, signer);
    }
    /// <summary>
    /// Trusted publishing: a certificate signed by this registry's key, within its window, for this package and the key
    /// that signed the statement. (Whether its publisher is still trusted is the decider's call.)
    /// </summary>
    public static Outcome<PackageDecider.CertifiedKey> Certify(
        DsseEnvelope envelope, string name, OwnerKey signer, OwnerKey registryKey, DateTimeOffset now)
    {
        var verified = PublisherCertificate.Verify(envelope, registryKey, now);
        if (!verified.TryGet(out var certificate, out var error)) return error;
        if (certificate.Name != name)
            return DomainError.InvalidCertificate($"the certificate is for package {certificate.Name}, not {name}.");
        if (certificate.KeyId != signer.KeyId || certificate.PublicKey != signer.PublicKey)
            return DomainError.InvalidCertificate($"the certificate is for key {certificate.KeyId}; the statement is signed by {signer.KeyId}.");
        return new PackageDecider.CertifiedKey(certificate, envelope);
    }

    /// <summary>A trusted-publisher statement checked against the path: the decision it asks for.</summary>
    /// <param name="name">The normalised package name of the path.</param>
    /// <param name="pathName">The name as the path spells it.</param>
    /// <param name="isConfiguredIssuer">Whether this registry accepts ID tokens of an issuer (its URL without a trailing slash).</param>
    public static Outcome<Func<PackageState?, DateTimeOffset, Outcome<object[]>>> TrustedPublishers(TrustedPublisherStatement s, string name,
        string pathName, OwnerKey signer, Func<string, bool> isConfiguredIssuer)
    {
        if (PackageName.Normalize(s.Name).Value != name)
            return DomainError.StatementMismatch($"The statement names '{s.Name}', the path '{pathName}'.");
        switch (s.Action)
        {
            case "add" or "remove":
                if (s.Required is not null)
                    return DomainError.InvalidStatement("required belongs to action 'require'.");
                if (TrustedPublisherRules.Validate(s.Issuer, s.Repository, s.Workflow, s.Environment) is { } invalid)
                    return invalid;
                if (s.Action == "add" && !isConfiguredIssuer(s.Issuer!.TrimEnd('/')))
                    return DomainError.InvalidStatement($"issuer {s.Issuer} is not configured on this registry (TrustedPublishing:Issuers).");
                var change = new TrustedPublishingDecider.ChangePublisher(name, s.Action == "add",
                    new TrustedPublisher(s.Issuer!.TrimEnd('/'), s.Repository!, s.Workflow!, s.Environment), signer);
                Func<PackageState?, DateTimeOffset, Outcome<object[]>> decideChange =
                    (state, now) => TrustedPublishingDecider.Decide(state, change, now);
                return decideChange;
            case "require":
                if (s.Required is not { } required)
                    return DomainError.InvalidStatement("action 'require' needs required: true or false.");
                if (s.Issuer is not null || s.Repository is not null || s.Workflow is not null || s.Environment is not null)
                    return DomainError.InvalidStatement("action 'require' names no publisher.");
                var set = new TrustedPublishingDecider.SetRequirement(name, required, signer);
                Func<PackageState?, DateTimeOffset, Outcome<object[]>> decideRequirement =
                    (state, now) => TrustedPublishingDecider.Decide(state, set, now);
                return decideRequirement;
            default:
                return DomainError.InvalidStatement("action must be 'add', 'remove' or 'require'.");
        }
    }
}
