using System.Text.Json;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Search;
using Marketplace.Packages;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Packages;
using Marten;

namespace Marketplace.Functions.Packages.Reading;

/// <summary>
/// Loads a read model and its download total in one round trip: the document from its Marten table, the total
/// from the download counters, joined in SQL and returned as one JSON value.
/// </summary>
public sealed class ReadModels(IDocumentStore store, IPackageSearch search)
{
    private sealed record Row<T>(T Doc, long Downloads, bool SearchVisible, long StreamVersion = 0);

    private readonly string _packageSql = Sql(store, typeof(PackageDocument), "c.name = d.id",
        streamVersion: $"(select s.version from {store.Options.Events.DatabaseSchemaName}.mt_streams s where s.id = d.id)");
    private readonly string _versionSql = Sql(store, typeof(VersionDocument), "c.name = d.data->>'Name' and c.version = ?",
        // Visible in search once the search index has applied the publish event.
        $"coalesce((select p.last_seq_id from {store.Options.Events.DatabaseSchemaName}.mt_event_progression p where p.name = ?), 0) " +
        ">= coalesce((d.data->>'Sequence')::bigint, 0)");
    // An index kept per instance (embedded) says itself how far it has applied the log.
    private readonly string _versionSqlApplied = Sql(store, typeof(VersionDocument), "c.name = d.data->>'Name' and c.version = ?",
        "?::bigint >= coalesce((d.data->>'Sequence')::bigint, 0)");

    private static string Sql(IDocumentStore store, Type document, string match, string searchVisible = "false", string streamVersion = "0") =>
        $"select json_build_object('doc', d.data, 'downloads', coalesce((select sum(c.count) from " +
        $"{DownloadCountsProjection.TableIn(store.Options.DatabaseSchemaName)} c where {match}), 0), 'searchVisible', {searchVisible}, " +
        $"'streamVersion', {streamVersion})::text " +
        $"from {store.Options.FindOrResolveDocumentType(document).TableName.QualifiedName} d where d.id = ?";

    private readonly string _packageDownloadsSql =
        $"select coalesce(sum(c.count), 0) from {DownloadCountsProjection.TableIn(store.Options.DatabaseSchemaName)} c where c.name = ?";

    /// <summary>
    /// The package document and its download total; where the daemon has not caught up with the package stream yet (no
    /// document, or one behind the stream's version), the stream is read back and folded by the projection's own fold
    /// (<see cref="PackageDocumentProjection.Fold"/>), as stored — the document the daemon will write. A publish, yank or
    /// owner change is thus in the package's answer as soon as it is answered.
    /// </summary>
    // Sessions are opened here, on a cache miss, rather than per request: a cached answer costs no session.
    public async Task<(PackageDocument Doc, long Downloads)?> PackageAsync(IDocumentStore store, string name, CancellationToken ct)
    {
        var row = await Load<PackageDocument>(store, _packageSql, ct, name);
        if (row is not null && row.Doc.StreamVersion >= row.StreamVersion) return (row.Doc, row.Downloads);
        await using var session = store.QuerySession();
        PackageDocument? doc = null;
        foreach (var e in await session.Events.FetchStreamAsync(name, token: ct))
            if (e.Data is IPackageEvent) doc = PackageDocumentProjection.Fold(doc, name, e);
        if (doc is null) return null;
        var downloads = row?.Downloads ?? (await session.QueryAsync<long>(_packageDownloadsSql, ct, name))[0];
        return (doc, downloads);
    }

    /// <summary>The version document, its download count, and whether search shows it yet.</summary>
    public async Task<(VersionDocument Doc, long Downloads, bool SearchVisible)?> VersionAsync(
        IDocumentStore store, string name, string versionKey, CancellationToken ct) =>
        await (search.AppliedSequence is { } applied
            ? Load<VersionDocument>(store, _versionSqlApplied, ct, versionKey, applied, VersionDocument.IdOf(name, versionKey))
            : Load<VersionDocument>(store, _versionSql, ct, versionKey, search.ProgressionName, VersionDocument.IdOf(name, versionKey))) is { } row
            ? (row.Doc, row.Downloads, row.SearchVisible)
            : null;

    private readonly string _liveSql =
        $"select coalesce((select sum(c.count) from {DownloadCountsProjection.TableIn(store.Options.DatabaseSchemaName)} c " +
        "where c.name = ? and c.version = ?), 0), " +
        $"coalesce((select p.last_seq_id from {store.Options.Events.DatabaseSchemaName}.mt_event_progression p where p.name = ?), 0)";

    /// <summary>
    /// A version committed but not yet projected by the daemon (it lags the write by its wake interval and a round of its
    /// shards, 250–500 ms at p99 under a publish or download load): the package's inline snapshot says whether the version
    /// exists, and if it does, the version's events are read back from its package stream and folded by the projection's
    /// own fold (<see cref="VersionDocumentProjection.Fold"/>), as stored — the same document the daemon will write.
    /// A publish is thus readable as soon as it is answered. Only asked when the document is missing: a version nobody
    /// published costs one snapshot load more.
    /// </summary>
    public async Task<(VersionDocument Doc, long Downloads, bool SearchVisible)?> VersionFromLogAsync(
        IDocumentStore store, string name, string versionKey, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var state = await session.LoadAsync<PackageState>(name, ct);
        if (state is null || !state.Versions.ContainsKey(versionKey)) return null;
        var id = VersionDocument.IdOf(name, versionKey);
        VersionDocument? doc = null;
        foreach (var e in await session.Events.FetchStreamAsync(name, token: ct))
            if (e.Data is IVersionEvent v && v.VersionKey == versionKey)
                doc = VersionDocumentProjection.Fold(doc, id, e);
        if (doc is null) return null;
        var rows = await session.QueryAsync<string>(
            "select json_build_object('downloads', d, 'applied', a)::text from (" + _liveSql + ") as t(d, a)", ct,
            name, versionKey, search.ProgressionName);
        using var figures = JsonDocument.Parse(rows[0]);
        var applied = search.AppliedSequence ?? figures.RootElement.GetProperty("applied").GetInt64();
        return (doc, figures.RootElement.GetProperty("downloads").GetInt64(), applied >= doc.Sequence);
    }

    private static async Task<Row<T>?> Load<T>(IDocumentStore store, string sql, CancellationToken ct, params object[] parameters)
    {
        await using var session = store.QuerySession();
        var rows = await session.QueryAsync<string>(sql, ct, parameters);
        return rows.Count == 0 ? null : JsonSerializer.Deserialize<Row<T>>(rows[0], BoundedJson.Options)!;
    }
}
