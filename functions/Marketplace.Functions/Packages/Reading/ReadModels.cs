using System.Text.Json;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Search;
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
    private sealed record Row<T>(T Doc, long Downloads, bool SearchVisible);

    private readonly string _packageSql = Sql(store, typeof(PackageDocument), "c.name = d.id");
    private readonly string _versionSql = Sql(store, typeof(VersionDocument), "c.name = d.data->>'Name' and c.version = ?",
        // Visible in search once the search index has applied the publish event.
        $"coalesce((select p.last_seq_id from {store.Options.Events.DatabaseSchemaName}.mt_event_progression p where p.name = ?), 0) " +
        ">= coalesce((d.data->>'Sequence')::bigint, 0)");
    // An index kept per instance (embedded) says itself how far it has applied the log.
    private readonly string _versionSqlApplied = Sql(store, typeof(VersionDocument), "c.name = d.data->>'Name' and c.version = ?",
        "?::bigint >= coalesce((d.data->>'Sequence')::bigint, 0)");

    private static string Sql(IDocumentStore store, Type document, string match, string searchVisible = "false") =>
        $"select json_build_object('doc', d.data, 'downloads', coalesce((select sum(c.count) from " +
        $"{DownloadCountsProjection.TableIn(store.Options.DatabaseSchemaName)} c where {match}), 0), 'searchVisible', {searchVisible})::text " +
        $"from {store.Options.FindOrResolveDocumentType(document).TableName.QualifiedName} d where d.id = ?";

    // Sessions are opened here, on a cache miss, rather than per request: a cached answer costs no session.
    public async Task<(PackageDocument Doc, long Downloads)?> PackageAsync(IDocumentStore store, string name, CancellationToken ct) =>
        await Load<PackageDocument>(store, _packageSql, ct, name) is { } row ? (row.Doc, row.Downloads) : null;

    /// <summary>The version document, its download count, and whether search shows it yet.</summary>
    public async Task<(VersionDocument Doc, long Downloads, bool SearchVisible)?> VersionAsync(
        IDocumentStore store, string name, string versionKey, CancellationToken ct) =>
        await (search.AppliedSequence is { } applied
            ? Load<VersionDocument>(store, _versionSqlApplied, ct, versionKey, applied, VersionDocument.IdOf(name, versionKey))
            : Load<VersionDocument>(store, _versionSql, ct, versionKey, search.ProgressionName, VersionDocument.IdOf(name, versionKey))) is { } row
            ? (row.Doc, row.Downloads, row.SearchVisible)
            : null;

    private static async Task<Row<T>?> Load<T>(IDocumentStore store, string sql, CancellationToken ct, params object[] parameters)
    {
        await using var session = store.QuerySession();
        var rows = await session.QueryAsync<string>(sql, ct, parameters);
        return rows.Count == 0 ? null : JsonSerializer.Deserialize<Row<T>>(rows[0], BoundedJson.Options)!;
    }
}
