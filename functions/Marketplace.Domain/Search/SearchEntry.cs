using Marketplace.Packages;

namespace Marketplace.Search;

/// <summary>
/// What search knows of one package: every version with the manifest fields search uses, folded from the package
/// stream, and the download total. Both search adapters index the <see cref="Shown"/> version of an entry: the
/// latest non-yanked one (stable before pre-release, as <c>GET /v1/packages/{name}</c> picks it). An entry whose
/// versions are all yanked is not <see cref="Visible"/> and drops out of results.
/// </summary>
public sealed class SearchEntry
{
    public string Name { get; set; } = "";
    public string DisplayName { get; set; } = "";
    /// <summary>Versions in ascending precedence.</summary>
    public List<SearchVersion> Versions { get; set; } = [];
    public long Downloads { get; set; }

    public SearchVersion? Shown => VersionOrder.Latest(Versions, v => v.Version, v => v.Yanked);

    public bool Visible => Versions.Any(v => !v.Yanked);

    /// <summary>When the package last changed in a way search shows: its newest publish.</summary>
    public DateTimeOffset UpdatedAt => Versions.Count == 0 ? default : Versions.Max(v => v.PublishedAt);

    /// <summary>
    /// Applies one event of the package stream; returns whether the entry changed. Idempotent: an event applied
    /// twice (at-least-once delivery) leaves the entry as once.
    /// </summary>
    public bool Apply(object @event)
    {
        switch (@event)
        {
            case PackagePublished p:
                if (Versions.Any(v => v.Key == p.VersionKey)) return false;
                if (Versions.Count == 0) DisplayName = p.DisplayName;
                Name = p.Name;
                Versions.Insert(VersionOrder.InsertionIndex(Versions, v => v.Version, p.Version), new SearchVersion
                {
                    Key = p.VersionKey,
                    Version = p.Version,
                    PublishedAt = p.PublishedAt,
                    Description = p.Manifest.Description,
                    Keywords = [.. p.Manifest.Keywords ?? []],
                    Categories = [.. p.Manifest.Categories ?? []],
                    Authors = [.. p.Manifest.Authors ?? []],
                    License = p.Manifest.License,
                });
                return true;
            case VersionYanked y:
                return SetYanked(y.VersionKey, true);
            case VersionUnyanked u:
                return SetYanked(u.VersionKey, false);
            default:
                return false;
        }
    }

    private bool SetYanked(string key, bool yanked)
    {
        var changed = false;
        foreach (var v in Versions.Where(v => v.Key == key && v.Yanked != yanked))
        {
            v.Yanked = yanked;
            changed = true;
        }
        return changed;
    }
}

public sealed class SearchVersion
{
    public string Key { get; set; } = "";
    public string Version { get; set; } = "";
    public bool Yanked { get; set; }
    public DateTimeOffset PublishedAt { get; set; }
    public string? Description { get; set; }
    public List<string> Keywords { get; set; } = [];
    public List<string> Categories { get; set; } = [];
    public List<string> Authors { get; set; } = [];
    public string? License { get; set; }
}
