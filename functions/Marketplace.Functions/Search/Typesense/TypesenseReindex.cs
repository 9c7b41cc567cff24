using Marten;

namespace Marketplace.Functions.Search.Typesense;

/// <summary>
/// <c>Marketplace.Functions search-reindex</c> (on Lambda's build: <c>bootstrap search-reindex</c>): rebuilds the
/// Typesense index from the event store into a new collection <c>{alias}_{UTC timestamp}</c>, repoints the alias
/// and drops the old collection, while searches keep being answered. Safe to run while the feed runs.
/// </summary>
public static class TypesenseReindex
{
    public const string Name = "search-reindex";

    public static bool IsRequested(string[] args) => args is [Name, ..];

    public static async Task<int> RunAsync(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TypesenseReindex));
        if (app.Services.GetService<TypesenseCollections>() is not { } collections)
        {
            logger.LogError("search-reindex: the search adapter is not Typesense (set Typesense:Url, or Search:Adapter=Typesense)");
            return 1;
        }
        try
        {
            var summary = await collections.ReindexAsync(app.Services.GetRequiredService<IDocumentStore>(), app.Lifetime.ApplicationStopping);
            logger.LogInformation(
                "search-reindex: alias {Alias} now points at {Collection} " +
                "({Documents} packages, {Resynced} re-applied, previous {Previous} dropped) in {ElapsedMs} ms",
                summary.Alias, summary.Collection, summary.Documents, summary.Resynced, summary.Previous ?? "none", summary.ElapsedMs);
            return 0;
        }
        catch (Exception e) when (e is TypesenseException or TypesenseImportException or InvalidOperationException or TimeoutException
                                       or Npgsql.NpgsqlException)
        {
            logger.LogError(e, "search-reindex failed; the alias {Alias} still points at the collection it did before", collections.Alias);
            return 1;
        }
    }
}
