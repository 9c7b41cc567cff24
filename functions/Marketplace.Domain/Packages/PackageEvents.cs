using System.Text.Json.Serialization;
using Marketplace.Signing;
using Marketplace.TrustedPublishing;

namespace Marketplace.Packages;

/// <summary>Every event of a package stream and of download streams names its package (normalised).</summary>
public interface IPackageEvent
{
    string Name { get; }
}

/// <summary>An event about one version of a package.</summary>
public interface IVersionEvent : IPackageEvent
{
    /// <summary>The version's identity: SemVer text without build metadata.</summary>
    string VersionKey { get; }
}

/// <summary>A new immutable version. <see cref="Version"/> is the text as published, build metadata included.</summary>
public sealed record PackagePublished(
    string Name,
    string DisplayName,
    string Version,
    string Sha256,
    long Size,
    PackageManifest Manifest,
    string KeyId,
    string PublicKey,
    DsseEnvelope Envelope,
    DateTimeOffset PublishedAt) : IVersionEvent
{
    /// <summary>
    /// For a publish by a certified key (trusted publishing): where it was built, and the registry's certificate.
    /// Absent (not null: left out) on every other publish, so the logged lines of earlier publishes are unchanged.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TrustedPublishing.Provenance? Provenance { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DsseEnvelope? Certificate { get; init; }

    [JsonIgnore]
    public string VersionKey => SemanticVersion.Parse(Version).Value!.Key;
}

public sealed record VersionYanked(string Name, string VersionKey, string? Reason, string KeyId, DateTimeOffset YankedAt) : IVersionEvent;

public sealed record VersionUnyanked(string Name, string VersionKey, string KeyId, DateTimeOffset UnyankedAt) : IVersionEvent;

public sealed record OwnerAdded(string Name, string KeyId, string PublicKey, string AddedBy, DateTimeOffset AddedAt) : IPackageEvent;

public sealed record OwnerRemoved(string Name, string KeyId, string RemovedBy, DateTimeOffset RemovedAt) : IPackageEvent;

/// <summary>
/// The concrete types behind <see cref="IPackageEvent"/> and <see cref="IVersionEvent"/>, for projections to declare
/// what they load: Marten filters a projection's events by type in SQL only when every declared type is concrete.
/// </summary>
public static class PackageEventTypes
{
    /// <summary>Every event of a package stream.</summary>
    public static readonly IReadOnlyList<Type> All =
    [
        typeof(PackagePublished), typeof(VersionYanked), typeof(VersionUnyanked), typeof(OwnerAdded), typeof(OwnerRemoved),
        typeof(TrustedPublisherAdded), typeof(TrustedPublisherRemoved), typeof(TrustedPublishingRequirementSet),
        typeof(PublisherCertificateIssued),
    ];

    /// <summary>The events about one version.</summary>
    public static readonly IReadOnlyList<Type> OfVersions = [typeof(PackagePublished), typeof(VersionYanked), typeof(VersionUnyanked)];
}
