using System.Globalization;
using Marketplace.Packages;
using Marketplace.Projections.Downloads;
using Marten;
using Microsoft.Extensions.Options;

namespace Marketplace.Functions.Search.Typesense;

public sealed record ReindexSummary(string Alias, string? Previous, string Collection, int Documents, int Resynced, double ElapsedMs);

/// <summary>
/// The collections behind the alias: the health check, the first collection, and the zero-downtime full reindex.
/// </summary>
public sealed class TypesenseCollections(
    TypesenseClient client, TypesenseIndexer indexer, IOptions<TypesenseOptions> options, TimeProvider time, ILogger<TypesenseCollections> logger)
{
    public string Alias => options.Value.Collection;

    /// <summary>Throws, naming the URL, unless <c>GET /health</c> answers <c>{"ok":true}</c>.</summary>
    public async Task EnsureHealthyAsync(CancellationToken ct)
    {
        TypesenseHealth health;
        try
        {
            health = await client.HealthAsync(ct);
        }
        catch (TypesenseException e)
        {
            throw new InvalidOperationException(
                $"Typesense is the search adapter, but {client.BaseAddress}health could not be checked: {e.Message} " +
                "Set Typesense:Url to a reachable node, or Search:Adapter=Postgres.", e);
        }
        if (!health.Ok)
            throw new InvalidOperationException(
                $"Typesense is the search adapter, but {client.BaseAddress}health answered " +
                $"ok=false{(health.ResourceError is { } r ? $" ({r})" : "")}: the node is not ready.");
        if (health.ResourceError is { } resource)
            logger.LogWarning("Typesense at {Url} reports {ResourceError}: writes may be refused", client.BaseAddress, resource);
    }

    /// <summary>The collection the alias points to; on a first start, a new empty collection and the alias to it.</summary>
    public async Task<string> EnsureAliasAsync(CancellationToken ct)
    {
        if (await client.GetAliasAsync(Alias, ct) is { } existing) return existing;
        var collection = NewCollectionName();
        await client.CreateCollectionAsync(TypesenseSchema.For(collection), ct);
        await client.UpsertAliasAsync(Alias, collection, ct);
        logger.LogWarning("Typesense alias {Alias} did not exist: created it on the empty collection {Collection}. " +
            "The feed indexes what it has not applied yet; if the event store already held packages, run search-reindex.", Alias, collection);
        return collection;
    }

    /// <summary>
    /// Builds a new collection from the event store while the alias keeps serving the old one, points the alias at
    /// it, re-applies the packages that changed meanwhile, and drops the old collection.
    /// <para>
    /// Why the catch-up after the swap suffices: the reindex reads each package's state after noting
    /// <c>from</c> (the lower of the newest event and the download counters' progress). A change after
    /// <c>from</c> is either applied by the feed after the swap (so to the new collection), or was applied by the
    /// feed to the old one before the swap — then it was committed before the swap, and the catch-up, which reads
    /// every package named by an event after <c>from</c>, carries it over.
    /// </para>
    /// </summary>
    public async Task<ReindexSummary> ReindexAsync(IDocumentStore store, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        await EnsureHealthyAsync(ct);
        var previous = await client.GetAliasAsync(Alias, ct);
        await using var session = store.QuerySession();
        var events = store.Options.Events.DatabaseSchemaName;
        var from = (await session.QueryAsync<long>(
            $"select least(coalesce((select max(seq_id) from {events}.mt_events), 0), " +
            $"coalesce((select last_seq_id from {events}.mt_event_progression where name = ?), 0))",
            ct, $"{DownloadCountsProjection.ProjectionName}:All"))[0];

        var collection = NewCollectionName();
        await client.CreateCollectionAsync(TypesenseSchema.For(collection), ct);
        var documents = 0;
        try
        {
            var packages = store.Options.FindOrResolveDocumentType(typeof(PackageState)).TableName.QualifiedName;
            var last = "";
            while (true)
            {
                var names = await session.QueryAsync<string>(
                    $"select id from {packages} where id > ? order by id limit ?", ct, last, options.Value.BatchSize);
                if (names.Count == 0) break;
                var loaded = await TypesenseIndexer.LoadAsync(session, names, ct);
                // A new collection holds nothing to delete: only the visible packages are written.
                documents += await indexer.WriteAsync(collection, loaded.Where(p => p.Entry.Visible).ToList(), ct);
                last = names[^1];
            }
            await client.UpsertAliasAsync(Alias, collection, ct);
        }
        catch
        {
            // The alias still points at the old collection: drop the half-built one and report the first failure.
            try
            {
                await client.DeleteCollectionAsync(collection, CancellationToken.None);
            }
            catch (TypesenseException e)
            {
                logger.LogWarning(e, "Could not drop the half-built collection {Collection}; drop it by hand", collection);
            }
            throw;
        }

        var changed = await session.QueryAsync<string>(
            $"select distinct data->>'Name' from {events}.mt_events where seq_id > ? and data->>'Name' is not null", ct, from);
        foreach (var chunk in changed.Chunk(options.Value.BatchSize))
            await indexer.WriteAsync(Alias, await TypesenseIndexer.LoadAsync(session, chunk, ct), ct);

        if (previous is not null && previous != collection)
            await client.DeleteCollectionAsync(previous, ct);
        return new ReindexSummary(Alias, previous, collection, documents, changed.Count,
            Math.Round(time.GetElapsedTime(started).TotalMilliseconds, 1));
    }

    private string NewCollectionName() =>
        $"{Alias}_{time.GetUtcNow().UtcDateTime.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture)}";
}
