using JasperFx;
using JasperFx.Events;
using Marten;

namespace Marketplace.Functions.Infrastructure;

/// <summary>What a decide step queued on its session: the stream it wrote (its receipt names it) and the answer, read after the commit.</summary>
public readonly record struct Decided<T>(string Stream, Func<T> Answer);

/// <summary>
/// When a commit that lost to another writer is decided again: at most <paramref name="MaxAttempts"/> times, for the conflicts
/// <paramref name="When"/> names.
/// </summary>
public sealed record DecideAgain(int MaxAttempts, Func<Exception, bool> When)
{
    /// <summary>Never: a conflict is an error.</summary>
    public static readonly DecideAgain Never = new(1, _ => false);

    /// <summary>When another writer appended to the stream first (four decisions in all).</summary>
    public static readonly DecideAgain OnStreamConflict = new(4, EventWrites.IsStreamConflict);
}

/// <summary>
/// The one write path of a signed statement: a session carrying the request's correlation id and the signer's key, the
/// decide step (it reads what it needs and queues its events and documents on the session), the statement's receipt,
/// one commit. A commit that loses to another writer is decided again where the caller allows it; a receipt that
/// already exists is <c>replayed-statement</c> and nothing of the write is kept.
/// </summary>
public sealed class EventWrites(IDocumentStore store, TimeProvider time, ILogger<EventWrites> logger)
{
    /// <param name="receipt">The statement's receipt; its stream name and acceptance time are the decision's.</param>
    /// <param name="decide">Reads, decides at the given time and queues the writes; a refusal commits nothing.</param>
    public async Task<Outcome<T>> CommitAsync<T>(StatementReceipt receipt, string correlationId, DecideAgain again,
        Func<IDocumentSession, DateTimeOffset, CancellationToken, Task<Outcome<Decided<T>>>> decide, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var session = store.LightweightSession();
            session.CorrelationId = correlationId;
            session.LastModifiedBy = receipt.KeyId;
            var now = time.GetUtcNow();
            var decision = await decide(session, now, ct);
            if (decision.Error is { } refused) return refused;
            var decided = decision.Value;
            session.Insert(receipt with { Name = decided.Stream, AcceptedAt = now });
            try
            {
                await session.SaveChangesAsync(ct);
                return decided.Answer();
            }
            catch (Exception e) when (IsDuplicateReceipt(e))
            {
                return DomainError.ReplayedStatement();
            }
            catch (Exception e) when (attempt < again.MaxAttempts && again.When(e))
            {
                logger.LogDebug("Stream {Stream} moved on during a command; deciding again (attempt {Attempt}).", decided.Stream, attempt);
            }
        }
    }

    /// <summary>Another writer appended to, or started, the stream first (Marten's and JasperFx's exceptions for it).</summary>
    public static bool IsStreamConflict(Exception e) =>
        e is ConcurrencyException or ExistingStreamIdCollisionException or Marten.Exceptions.ExistingStreamIdCollisionException;

    private static bool IsDuplicateReceipt(Exception e) =>
        e is DocumentAlreadyExistsException d && d.DocType == typeof(StatementReceipt);
}
