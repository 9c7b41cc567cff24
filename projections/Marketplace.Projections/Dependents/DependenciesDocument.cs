using JasperFx.Events;
using Marketplace.Packages;
using Marten.Events.Projections;

namespace Marketplace.Projections.Dependents;

/// <summary>
/// One package's dependencies as the dependents read model needs them: every version's dependency names (so a yank
/// can fall back to the previous latest without reading the stream) and <see cref="LatestDependsOn"/>, the
/// dependencies of the latest version. "Who depends on X" is the packages whose <see cref="LatestDependsOn"/>
/// holds X, answered by a GIN index over that array (<see cref="DependentsQuery"/>), so a publish touches one
/// document however many packages it names.
/// </summary>
public sealed class DependenciesDocument
{
    public string Id { get; set; } = "";
    public string DisplayName { get; set; } = "";
    public List<VersionDependencies> Versions { get; set; } = [];
    public string? Latest { get; set; }
    /// <summary>Normalised names the latest version depends on, sorted; empty when every version is yanked.</summary>
    public List<string> LatestDependsOn { get; set; } = [];
}

public sealed class VersionDependencies
{
    public string Version { get; set; } = "";
    public bool Yanked { get; set; }
    public List<string> DependsOn { get; set; } = [];
}

public sealed partial class DependenciesProjection : MultiStreamProjection<DependenciesDocument, string>
{
    public const string ProjectionName = "Dependencies";

    public DependenciesProjection()
    {
        Name = ProjectionName;
        Identity<PackagePublished>(e => e.Name);
        Identity<VersionYanked>(e => e.Name);
        Identity<VersionUnyanked>(e => e.Name);
        // Identities alone leave the daemon reading the whole log for this projection: the types to load, declared.
        foreach (var type in PackageEventTypes.OfVersions) IncludeType(type);
    }

    public override DependenciesDocument? Evolve(DependenciesDocument? doc, string id, IEvent e)
    {
        doc ??= new DependenciesDocument { Id = id, DisplayName = id };
        ProjectionMetrics.Applied(Name, e);
        switch (e.Data)
        {
            case PackagePublished p:
                if (doc.Versions.Count == 0) doc.DisplayName = p.DisplayName;
                if (doc.Versions.Any(v => SameKey(v.Version, p.VersionKey))) break; // already applied
                doc.Versions.Insert(VersionOrder.InsertionIndex(doc.Versions, v => v.Version, p.Version), new VersionDependencies
                {
                    Version = p.Version,
                    DependsOn = NamesOf(p.Manifest.Dependencies),
                });
                break;
            case VersionYanked y:
                foreach (var v in doc.Versions.Where(v => SameKey(v.Version, y.VersionKey))) v.Yanked = true;
                break;
            case VersionUnyanked u:
                foreach (var v in doc.Versions.Where(v => SameKey(v.Version, u.VersionKey))) v.Yanked = false;
                break;
        }
        var latest = VersionOrder.Latest(doc.Versions, v => v.Version, v => v.Yanked);
        doc.Latest = latest?.Version;
        doc.LatestDependsOn = latest?.DependsOn ?? [];
        return doc;
    }

    /// <summary>Dependency names as keys: normalised, distinct, sorted; a name that does not normalise is left out.</summary>
    public static List<string> NamesOf(IReadOnlyDictionary<string, string>? dependencies) =>
        (dependencies ?? new Dictionary<string, string>()).Keys
            .Select(PackageName.Normalize).Where(n => n.Error is null).Select(n => n.Value!)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    private static bool SameKey(string version, string key) =>
        version.Length >= key.Length && version.StartsWith(key, StringComparison.Ordinal)
        && (version.Length == key.Length || version[key.Length] == '+');
}

/// <summary>Reads the dependents of a package from <see cref="DependenciesDocument"/>.</summary>
public static class DependentsQuery
{
    public const int MaxDependents = 200;

    /// <summary>
    /// Packages whose latest version depends on <paramref name="name"/> (normalised), by name, at most
    /// <see cref="MaxDependents"/>, as (name, display name, latest) rows.
    /// </summary>
    public static async Task<IReadOnlyList<(string Name, string DisplayName, string Latest)>> OfAsync(
        Marten.IQuerySession session, string name, CancellationToken ct)
    {
        var table = session.DocumentStore.Options.FindOrResolveDocumentType(typeof(DependenciesDocument)).TableName.QualifiedName;
        var containment = System.Text.Json.JsonSerializer.Serialize(new { LatestDependsOn = new[] { name } });
        var rows = await session.QueryAsync<string>(
            $"select json_build_array(id, data->>'DisplayName', data->>'Latest')::text from {table} where data @> ?::jsonb " +
            $"order by id limit {MaxDependents}",
            ct, containment);
        return rows.Select(r => System.Text.Json.JsonSerializer.Deserialize<string[]>(r)!).Select(a => (a[0], a[1], a[2])).ToList();
    }
}
