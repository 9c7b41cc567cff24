using Marketplace.Functions.Infrastructure;
using Marketplace.Packages;
using Marten;

namespace Marketplace.Functions.Packages;

/// <summary>What an accepted command appended: its events and the global sequence of the last one.</summary>
public sealed record Appended(IReadOnlyList<object> Events, long Sequence, PackageState? State);

/// <summary>
/// The package stream's side of the write path (<see cref="EventWrites"/>): fetch the inline snapshot, decide, append —
/// deciding again if another writer got there first.
/// </summary>
public sealed class PackageCommands(IDocumentStore store, EventWrites writes, Reading.ReadCacheInvalidation reads)
{
    /// <param name="decide">The pure decision over the current state.</param>
    /// <param name="beforeCommit">
    /// Work that must succeed before the events commit (placing a blob); run once. It is never undone here: a blob
    /// placed for a command that then loses may already be what another command about to commit relies on
    /// (content addressing shares it), so orphans are collected later against committed events
    /// (<see cref="Blobs.OrphanBlobCollector"/>).
    /// </param>
    public async Task<Outcome<Appended>> HandleAsync(
        string name,
        StatementReceipt receipt,
        string correlationId,
        Func<PackageState?, DateTimeOffset, Outcome<object[]>> decide,
        Func<CancellationToken, Task<DomainError?>>? beforeCommit,
        CancellationToken ct)
    {
        var prepared = false;
        var outcome = await writes.CommitAsync<Appended>(receipt with { Name = name }, correlationId, DecideAgain.OnStreamConflict,
            async (session, now, token) =>
            {
                var stream = await session.Events.FetchForWriting<PackageState>(name, token);
                var decision = decide(stream.Aggregate, now);
                if (!decision.TryGet(out var events, out var refused)) return refused;
                if (!prepared && beforeCommit is not null && events.Length > 0)
                {
                    if (await beforeCommit(token) is { } failed) return failed;
                    prepared = true;
                }
                if (events.Length > 0) stream.AppendMany(events);
                return new Decided<Appended>(name, () =>
                    new Appended(events, stream.Events.Count > 0 ? stream.Events[^1].Sequence : 0,
                        events.Aggregate(stream.Aggregate, PackageState.Evolve)));
            }, ct);
        // Committed: this instance's cached answers about the package are stale from now on (reads fold the stream
        // until the daemon catches up), so they go before the command is answered.
        if (outcome.TryGet(out var appended, out _)) reads.Evict(appended.Events);
        return outcome;
    }

    public async Task<PackageState?> LoadAsync(string name, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.LoadAsync<PackageState>(name, ct);
    }
}
