using Marketplace.Functions.Transparency;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Search;
using Marten;

namespace Marketplace.Tests.Support;

/// <summary>Every row of every async read model of a schema, as text, in a stable order: "equal to a rebuild" compares two of these.</summary>
public static class ReadModelSnapshot
{
    public static async Task<List<string>> TakeAsync(IDocumentStore store, string schema)
    {
        await using var session = store.QuerySession();
        var rows = new List<string>();
        foreach (var table in new[] { "mt_doc_packagedocument", "mt_doc_versiondocument" })
            rows.AddRange(await session.QueryAsync<string>($"select id || ' ' || data::text from {schema}.{table} order by id"));
        foreach (var table in new[] { DownloadCountsProjection.TableIn(schema), DownloadCountsProjection.TotalsTableIn(schema),
                     SearchProjection.TableIn(schema), SearchProjection.FacetsTableIn(schema), SearchProjection.EntriesTableIn(schema),
                     TransparencyLogProjection.LeavesIn(schema), TransparencyLogProjection.NodesIn(schema) })
            rows.AddRange(await session.QueryAsync<string>($"select t::text from {table} t order by t::text"));
        return rows;
    }
}
