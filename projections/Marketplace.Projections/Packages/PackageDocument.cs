using JasperFx.Events;
using Marketplace.Packages;
using Marketplace.TrustedPublishing;
using Marten.Events.Projections;

namespace Marketplace.Projections.Packages;

/// <summary>The read model behind <c>GET /v1/packages/{name}</c>.</summary>
public sealed class PackageDocument
{
    public string Id { get; set; } = "";
    public string DisplayName { get; set; } = "";
    public List<PackageOwner> Owners { get; set; } = [];
    public List<PackageVersionEntry> Versions { get; set; } = [];
    public string? Latest { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    /// <summary>Trusted publishing only: owner-key-signed publishes are refused.</summary>
    public bool RequireTrustedPublishing { get; set; }
    /// <summary>The CI workflows owners named, with who named them and when.</summary>
    public List<PackageTrustedPublisher> TrustedPublishers { get; set; } = [];
    /// <summary>
    /// The version of the package stream this document has applied: a read that finds the stream further on folds the
    /// stream itself instead of answering from a document the daemon has not caught up (<c>ReadModels.PackageAsync</c>).
    /// </summary>
    public long StreamVersion { get; set; }

    /// <summary>
    /// Highest non-yanked stable version; if there is none, the highest non-yanked pre-release. Expects
    /// <paramref name="versions"/> in ascending precedence, as the projection keeps them, and scans from the top.
    /// </summary>
    public static string? LatestOf(IReadOnlyList<PackageVersionEntry> versions) =>
        VersionOrder.Latest(versions, v => v.Version, v => v.Yanked)?.Version;

    /// <summary>Whether an entry (its text may carry build metadata) is the version with this key.</summary>
    public static bool HasKey(PackageVersionEntry entry, string versionKey) =>
        entry.Version.Length >= versionKey.Length && entry.Version.StartsWith(versionKey, StringComparison.Ordinal)
        && (entry.Version.Length == versionKey.Length || entry.Version[versionKey.Length] == '+');
}

public sealed record PackageOwner(string KeyId, string PublicKey, DateTimeOffset AddedAt);

public sealed record PackageTrustedPublisher(
    string Issuer, string Repository, string Workflow, string? Environment, string AddedBy, DateTimeOffset AddedAt);

public sealed class PackageVersionEntry
{
    public string Version { get; set; } = "";
    public string Sha256 { get; set; } = "";
    public long Size { get; set; }
    public bool Yanked { get; set; }
    public DateTimeOffset PublishedAt { get; set; }
    public string KeyId { get; set; } = "";
}

/// <summary>Folds the package stream and the download streams into one document per package.</summary>
public sealed partial class PackageDocumentProjection : MultiStreamProjection<PackageDocument, string>
{
    public PackageDocumentProjection()
    {
        Name = "PackageDocument";
        Identity<IPackageEvent>(e => e.Name);
        // The concrete types too: with only the interface, Marten's daemon loads every event of the log for this
        // projection (downloads included) and drops what it does not want in memory.
        foreach (var type in PackageEventTypes.All) IncludeType(type);
    }

    public override PackageDocument? Evolve(PackageDocument? doc, string id, IEvent e)
    {
        ProjectionMetrics.Applied(Name, e);
        return Fold(doc, id, e);
    }

    /// <summary>
    /// The fold itself, without the projection's metrics: what the daemon applies, and what a read folds from the package
    /// stream when the document is behind it (<c>ReadModels.PackageAsync</c>) — one fold, so the two give the same document.
    /// </summary>
    public static PackageDocument Fold(PackageDocument? doc, string id, IEvent e)
    {
        doc ??= new PackageDocument { Id = id, DisplayName = id, CreatedAt = e.Timestamp };
        doc.StreamVersion = Math.Max(doc.StreamVersion, e.Version);
        switch (e.Data)
        {
            case OwnerAdded added:
                doc.Owners.RemoveAll(o => o.KeyId == added.KeyId);
                doc.Owners.Add(new PackageOwner(added.KeyId, added.PublicKey, added.AddedAt));
                break;
            case OwnerRemoved removed:
                doc.Owners.RemoveAll(o => o.KeyId == removed.KeyId);
                break;
            case PackagePublished published:
                if (doc.Versions.Count == 0) doc.DisplayName = published.DisplayName;
                if (doc.Versions.Any(v => PackageDocument.HasKey(v, published.VersionKey))) break; // already applied
                doc.Versions.Insert(VersionOrder.InsertionIndex(doc.Versions, v => v.Version, published.Version), new PackageVersionEntry
                {
                    Version = published.Version,
                    Sha256 = published.Sha256,
                    Size = published.Size,
                    PublishedAt = published.PublishedAt,
                    KeyId = published.KeyId,
                });
                break;
            case TrustedPublisherAdded added:
                doc.TrustedPublishers.RemoveAll(t => new TrustedPublisher(t.Issuer, t.Repository, t.Workflow, t.Environment).SameAs(added.Publisher));
                doc.TrustedPublishers.Add(new PackageTrustedPublisher(
                    added.Issuer, added.Repository, added.Workflow, added.Environment, added.AddedBy, added.AddedAt));
                break;
            case TrustedPublisherRemoved removed:
                doc.TrustedPublishers.RemoveAll(t =>
                    new TrustedPublisher(t.Issuer, t.Repository, t.Workflow, t.Environment).SameAs(removed.Publisher));
                break;
            case TrustedPublishingRequirementSet set:
                doc.RequireTrustedPublishing = set.Required;
                break;
            case VersionYanked yanked:
                SetYanked(doc, yanked.VersionKey, true);
                break;
            case VersionUnyanked unyanked:
                SetYanked(doc, unyanked.VersionKey, false);
                break;
        }
        doc.Latest = PackageDocument.LatestOf(doc.Versions);
        doc.UpdatedAt = e.Timestamp;
        return doc;
    }

    private static void SetYanked(PackageDocument doc, string versionKey, bool yanked)
    {
        foreach (var v in doc.Versions.Where(v => PackageDocument.HasKey(v, versionKey)))
            v.Yanked = yanked;
    }
}
