using System.Text.Json;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Search;
using Marketplace.Packages;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Packages;
using Marten;

namespace Marketplace.Functions.Packages.Reading;

/// <summary>
/// Loads a read model with its download total (and, for a version, how far search has applied the log) in one round
/// trip: one row whether or not the document exists, the document, the total from the download counters, and for a
/// package the version its stream is at. Where the daemon has not caught up with the package stream yet — no document,
/// or a package document whose <see cref="PackageDocument.StreamVersion"/> is behind the stream — the stream is read
/// back and folded by the projection's own fold (<see cref="PackageDocumentProjection.Fold"/>,
/// <see cref="VersionDocumentProjection.Fold"/>) over the events as stored: the document the daemon will write. A
/// publish, yank or owner change is thus readable as soon as it is answered, whatever the daemon's lag (250–500 ms at
/// p99 under a publish or download load).
/// </summary>
public sealed class ReadModels(IDocumentStore store, IPackageSearch search)
{
    /// <summary>One row of <see cref="_packageSql"/> (<c>StreamVersion</c>) or <see cref="_versionSql"/> (<c>Applied</c>,
    /// <c>Published</c>).</summary>
    private sealed record Row<T>(T? Doc, long Downloads, long? StreamVersion = null, long Applied = 0, bool Published = false) where T : class;

    private static string Counts(IDocumentStore store) => DownloadCountsProjection.TableIn(store.Options.DatabaseSchemaName);
    private static string Totals(IDocumentStore store) => DownloadCountsProjection.TotalsTableIn(store.Options.DatabaseSchemaName);
    private static string Table<T>(IDocumentStore store) => store.Options.FindOrResolveDocumentType(typeof(T)).TableName.QualifiedName;

    // (select 1) left join: one row when the document is missing too, with what the fold from the stream needs.
    private readonly string _packageSql =
        $"select json_build_object('doc', d.data, 'downloads', coalesce((select t.downloads from {Totals(store)} t where t.name = ?), 0), " +
        $"'streamVersion', (select s.version from {store.Options.Events.DatabaseSchemaName}.mt_streams s where s.id = ?))::text " +
        $"from (select 1) one left join {Table<PackageDocument>(store)} d on d.id = ?";

    private readonly string _versionSql =
        "select json_build_object('doc', d.data, " +
        $"'downloads', coalesce((select sum(c.count) from {Counts(store)} c where c.name = ? and c.version = ?), 0), " +
        "'applied', coalesce((select p.last_seq_id from " +
        $"{store.Options.Events.DatabaseSchemaName}.mt_event_progression p where p.name = ?), 0), " +
        // Whether the package's inline snapshot has the version, asked only when the document is missing: only then is the
        // stream worth folding (a GET of a version nobody published must not read a whole package stream).
        "'published', case when d.id is null then coalesce((select jsonb_exists(s.data->'Versions', ?) " +
        $"from {Table<PackageState>(store)} s where s.id = ?), false) else false end)::text " +
        $"from (select 1) one left join {Table<VersionDocument>(store)} d on d.id = ?";

    /// <summary>The package document (folded from its stream where the daemon is behind) and its download total.</summary>
    // Sessions are opened here, on a cache miss, rather than per request: a cached answer costs no session.
    public async Task<(PackageDocument Doc, long Downloads)?> PackageAsync(IDocumentStore store, string name, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var row = await Load<PackageDocument>(session, _packageSql, ct, name, name, name);
        if (row.Doc is { } doc && doc.StreamVersion >= (row.StreamVersion ?? 0)) return (doc, row.Downloads);
        if (row.StreamVersion is null) return null;
        doc = null;
        foreach (var e in await session.Events.FetchStreamAsync(name, token: ct))
            if (e.Data is IPackageEvent) doc = PackageDocumentProjection.Fold(doc, name, e);
        return doc is null ? null : (doc, row.Downloads);
    }

    /// <summary>
    /// The version document (folded from the package stream where the daemon has not projected it yet), its download
    /// count, and whether search shows it yet: once the search index has applied its publish event — the shared index's
    /// progression, or the index this instance keeps (embedded), which says itself how far it has applied the log.
    /// </summary>
    public async Task<(VersionDocument Doc, long Downloads, bool SearchVisible)?> VersionAsync(
        IDocumentStore store, string name, string versionKey, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var id = VersionDocument.IdOf(name, versionKey);
        var row = await Load<VersionDocument>(session, _versionSql, ct, name, versionKey, search.ProgressionName, versionKey, name, id);
        var doc = row.Doc;
        if (doc is null)
        {
            if (!row.Published) return null;
            foreach (var e in await session.Events.FetchStreamAsync(name, token: ct))
                if (e.Data is IVersionEvent v && v.VersionKey == versionKey)
                    doc = VersionDocumentProjection.Fold(doc, id, e);
            if (doc is null) return null;
        }
        return (doc, row.Downloads, (search.AppliedSequence ?? row.Applied) >= doc.Sequence);
    }

    private static async Task<Row<T>> Load<T>(IQuerySession session, string sql, CancellationToken ct, params object[] parameters) where T : class
    {
        var rows = await session.QueryAsync<string>(sql, ct, parameters);
        return JsonSerializer.Deserialize<Row<T>>(rows[0], BoundedJson.Options)!;
    }
}
