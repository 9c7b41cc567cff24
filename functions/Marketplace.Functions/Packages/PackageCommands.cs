using JasperFx;
using JasperFx.Events;
using Marketplace.Functions.Infrastructure;
using Marketplace.Packages;
using Marten;

namespace Marketplace.Functions.Packages;

/// <summary>What an accepted command appended: its events and the global sequence of the last one.</summary>
public sealed record Appended(IReadOnlyList<object> Events, long Sequence, PackageState? State);

/// <summary>
/// The one write path of a package stream: fetch the inline snapshot, decide, append the events with the
/// statement's receipt in one transaction, and decide again if another writer got there first.
/// </summary>
public sealed class PackageCommands(IDocumentStore store, TimeProvider time, ILogger<PackageCommands> logger)
{
    private const int MaxAttempts = 4;

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
        for (var attempt = 1; ; attempt++)
        {
            await using var session = store.LightweightSession();
            session.CorrelationId = correlationId;
            session.LastModifiedBy = receipt.KeyId;

            var stream = await session.Events.FetchForWriting<PackageState>(name, ct);
            var now = time.GetUtcNow();
            var decision = decide(stream.Aggregate, now);
            if (decision.Error is { } refused)
                return refused;
            var events = decision.Value!;
            if (!prepared && beforeCommit is not null && events.Length > 0)
            {
                if (await beforeCommit(ct) is { } failed) return failed;
                prepared = true;
            }
            if (events.Length > 0) stream.AppendMany(events);
            session.Insert(receipt with { AcceptedAt = now });
            try
            {
                await session.SaveChangesAsync(ct);
                var state = events.Aggregate(stream.Aggregate, PackageState.Evolve);
                return new Appended(events, stream.Events.Count > 0 ? stream.Events[^1].Sequence : 0, state);
            }
            catch (Exception e) when (IsStreamConflict(e) && attempt < MaxAttempts)
            {
                logger.LogDebug("Stream {Name} moved on during a command; deciding again (attempt {Attempt}).", name, attempt);
            }
            catch (Exception e) when (IsDuplicateReceipt(e))
            {
                return DomainError.ReplayedStatement();
            }
        }
    }

    public async Task<PackageState?> LoadAsync(string name, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.LoadAsync<PackageState>(name, ct);
    }

    private static bool IsStreamConflict(Exception e) =>
        e is ConcurrencyException or ExistingStreamIdCollisionException or Marten.Exceptions.ExistingStreamIdCollisionException;

    private static bool IsDuplicateReceipt(Exception e) =>
        e is DocumentAlreadyExistsException d && d.DocType == typeof(StatementReceipt);
}
