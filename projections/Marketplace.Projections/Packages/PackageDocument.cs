using JasperFx.Events;
using Marketplace.Downloads;
using Marketplace.Packages;
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
    public long Downloads { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Highest non-yanked stable version; if there is none, the highest non-yanked pre-release.</summary>
    public static string? LatestOf(IEnumerable<PackageVersionEntry> versions)
    {
        var candidates = versions.Where(v => !v.Yanked)
            .Select(v => SemanticVersion.Parse(v.Version).Value!)
            .ToList();
        var stable = candidates.Where(v => !v.IsPrerelease).ToList();
        var pool = stable.Count > 0 ? stable : candidates;
        return pool.Count == 0 ? null : pool.Max()!.Text;
    }
}

public sealed record PackageOwner(string KeyId, string PublicKey, DateTimeOffset AddedAt);

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
    }

    public override PackageDocument? Evolve(PackageDocument? doc, string id, IEvent e)
    {
        doc ??= new PackageDocument { Id = id, DisplayName = id, CreatedAt = e.Timestamp };
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
                doc.Versions.RemoveAll(v => SemanticVersion.Parse(v.Version).Value!.Key == published.VersionKey);
                doc.Versions.Add(new PackageVersionEntry
                {
                    Version = published.Version,
                    Sha256 = published.Sha256,
                    Size = published.Size,
                    PublishedAt = published.PublishedAt,
                    KeyId = published.KeyId,
                });
                doc.Versions.Sort((a, b) => SemanticVersion.Parse(a.Version).Value!.CompareTo(SemanticVersion.Parse(b.Version).Value));
                break;
            case VersionYanked yanked:
                SetYanked(doc, yanked.VersionKey, true);
                break;
            case VersionUnyanked unyanked:
                SetYanked(doc, unyanked.VersionKey, false);
                break;
            case Downloaded:
                doc.Downloads++;
                return doc; // downloads do not change the package's last-updated time
        }
        doc.Latest = PackageDocument.LatestOf(doc.Versions);
        doc.UpdatedAt = e.Timestamp;
        return doc;
    }

    private static void SetYanked(PackageDocument doc, string versionKey, bool yanked)
    {
        foreach (var v in doc.Versions.Where(v => SemanticVersion.Parse(v.Version).Value!.Key == versionKey))
            v.Yanked = yanked;
    }
}
