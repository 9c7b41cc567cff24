using System.Text.Json;
using Marketplace.Projections.Downloads;
using Marketplace.Search;
using Marten;
using Microsoft.Extensions.Options;

namespace Marketplace.Functions.Search.Typesense;

/// <summary>A package's search entry as of now, keyed by the package stream's key (its normalised name).</summary>
public sealed record IndexedPackage(string Name, SearchEntry Entry);

/// <summary>
/// What the feed and the reindex share: rebuilding packages' search entries from the event store, and writing
/// them to a collection — upserts for visible packages, deletes for the rest — until every document is accepted.
/// </summary>
public sealed class TypesenseIndexer(TypesenseClient client, IOptions<TypesenseOptions> options, ILogger<TypesenseIndexer> logger)
{
    private readonly TypesenseOptions _options = options.Value;

    /// <summary>
    /// Folds each package stream from its first event (so the order events reached the caller in does not matter:
    /// the entry is the stream's current state) and adds its download total, in two round trips for the lot.
    /// </summary>
    public static async Task<IReadOnlyList<IndexedPackage>> LoadAsync(IQuerySession session, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        if (names.Count == 0) return [];
        var batch = session.CreateBatchQuery();
        var streams = names.Select(name => (Name: name, Events: batch.Events.FetchStream(name))).ToList();
        await batch.Execute(ct);

        var table = DownloadCountsProjection.TableIn(session.DocumentStore.Options.DatabaseSchemaName);
        var totals = await session.QueryAsync<string>(
            $"select coalesce(json_object_agg(t.name, t.total), '{{}}')::text " +
            $"from (select name, sum(count)::bigint as total from {table} where name = any(?) group by name) t",
            ct, (object)names.ToArray()); // one text[] parameter, not one per name
        var downloads = JsonSerializer.Deserialize<Dictionary<string, long>>(totals[0]) ?? [];

        var packages = new List<IndexedPackage>(streams.Count);
        foreach (var (name, events) in streams)
        {
            var entry = new SearchEntry { Name = name };
            foreach (var e in await events) entry.Apply(e.Data);
            entry.Downloads = downloads.GetValueOrDefault(name);
            packages.Add(new IndexedPackage(name, entry));
        }
        return packages;
    }

    /// <summary>
    /// Waits until the download counters (an async projection of their own) have applied the event at
    /// <paramref name="sequence"/>, so a total read afterwards includes it. Throws when they stay behind.
    /// </summary>
    public async Task WaitForDownloadCountsAsync(IQuerySession session, long sequence, CancellationToken ct)
    {
        var sql = $"select coalesce(max(last_seq_id), 0) from {session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_event_progression " +
            "where name = ?";
        var shard = $"{DownloadCountsProjection.ProjectionName}:All";
        var deadline = DateTimeOffset.UtcNow + _options.DownloadCountsWait;
        while (true)
        {
            var applied = (await session.QueryAsync<long>(sql, ct, shard))[0];
            if (applied >= sequence) return;
            if (DateTimeOffset.UtcNow >= deadline)
                throw new TimeoutException(
                    $"The download counters ({shard}) are at event {applied}, behind event {sequence}, after {_options.DownloadCountsWait}.");
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
    }

    /// <summary>
    /// Upserts the visible packages (in imports of <see cref="TypesenseOptions.BatchSize"/>) and deletes the others.
    /// Documents an import rejects are sent again with backoff, <see cref="TypesenseOptions.ImportAttempts"/> rounds
    /// in all; then <see cref="TypesenseImportException"/>. Returns how many documents were upserted.
    /// </summary>
    public async Task<int> WriteAsync(string collection, IReadOnlyList<IndexedPackage> packages, CancellationToken ct)
    {
        var upserts = packages.Where(p => p.Entry.Visible)
            .Select(p => (Id: p.Name, Line: TypesenseSchema.Line(TypesenseSchema.Document(p.Name, p.Entry))))
            .ToList();
        foreach (var chunk in upserts.Chunk(_options.BatchSize))
            await ImportAsync(collection, chunk, ct);
        var deletes = packages.Where(p => !p.Entry.Visible).Select(p => p.Name).ToList();
        foreach (var chunk in deletes.Chunk(_options.BatchSize))
            await client.DeleteDocumentsAsync(collection, chunk, ct);
        return upserts.Count;
    }

    private async Task ImportAsync(string collection, IReadOnlyList<(string Id, string Line)> documents, CancellationToken ct)
    {
        var pending = documents;
        for (var round = 1; ; round++)
        {
            IReadOnlyList<TypesenseImportResult> results;
            try
            {
                results = await client.ImportAsync(collection, pending.Select(d => d.Line).ToList(), ct);
            }
            catch (TypesenseException e) when (e.IsTransient && round < _options.ImportAttempts)
            {
                logger.LogWarning("Import of {Count} document(s) into {Collection} failed ({Error}); round {Round} of {Rounds}",
                    pending.Count, collection, e.Message, round, _options.ImportAttempts);
                await Task.Delay(Backoff(round), ct);
                continue;
            }
            var rejected = pending.Zip(results).Where(r => !r.Second.Success).ToList();
            if (rejected.Count == 0) return;
            if (round >= _options.ImportAttempts)
                throw new TypesenseImportException(collection, rejected.Select(r => (r.First.Id, r.Second.Error)).ToList());
            logger.LogWarning("Typesense rejected {Rejected} of {Count} document(s) imported into {Collection} ({Errors}); round {Round} of {Rounds}",
                rejected.Count, pending.Count, collection, string.Join("; ", rejected.Take(5).Select(r => $"{r.First.Id}: {r.Second.Error}")),
                round, _options.ImportAttempts);
            pending = rejected.Select(r => r.First).ToList();
            await Task.Delay(Backoff(round), ct);
        }
    }

    private TimeSpan Backoff(int round) =>
        TimeSpan.FromMilliseconds(Math.Min(10_000, _options.RetryDelay.TotalMilliseconds * Math.Pow(2, round - 1)));
}
