using System.Text.Json;
using Marketplace.Functions.Infrastructure;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Packages;
using Marten;

namespace Marketplace.Functions.Packages.Reading;

/// <summary>
/// Loads a read model and its download total in one round trip: the document from its Marten table, the total
/// from the download counters, joined in SQL and returned as one JSON value.
/// </summary>
public sealed class ReadModels(IDocumentStore store)
{
    private sealed record Row<T>(T Doc, long Downloads);

    private readonly string _packageSql = Sql(store, typeof(PackageDocument), "c.name = d.id");
    private readonly string _versionSql = Sql(store, typeof(VersionDocument), "c.name = d.data->>'Name' and c.version = ?");

    private static string Sql(IDocumentStore store, Type document, string match) =>
        $"select json_build_object('doc', d.data, 'downloads', coalesce((select sum(c.count) from {DownloadCountsProjection.TableIn(store.Options.DatabaseSchemaName)} c where {match}), 0))::text " +
        $"from {store.Options.FindOrResolveDocumentType(document).TableName.QualifiedName} d where d.id = ?";

    // Sessions are opened here, on a cache miss, rather than per request: a cached answer costs no session.
    public Task<(PackageDocument Doc, long Downloads)?> PackageAsync(IDocumentStore store, string name, CancellationToken ct) =>
        Load<PackageDocument>(store, _packageSql, ct, name);

    public Task<(VersionDocument Doc, long Downloads)?> VersionAsync(IDocumentStore store, string name, string versionKey, CancellationToken ct) =>
        Load<VersionDocument>(store, _versionSql, ct, versionKey, VersionDocument.IdOf(name, versionKey));

    private static async Task<(T Doc, long Downloads)?> Load<T>(IDocumentStore store, string sql, CancellationToken ct, params object[] parameters)
    {
        await using var session = store.QuerySession();
        var rows = await session.QueryAsync<string>(sql, ct, parameters);
        if (rows.Count == 0) return null;
        var row = JsonSerializer.Deserialize<Row<T>>(rows[0], BoundedJson.Options)!;
        return (row.Doc, row.Downloads);
    }
}
