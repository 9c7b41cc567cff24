using Marketplace.Signing;
using Marten;

namespace Marketplace.Functions.Infrastructure;

/// <summary>
/// Receipts guard against replays only while a statement could still be accepted: at most
/// <see cref="StatementVerifier.MaxAge"/> after its issuedAt, which is at most <see cref="StatementVerifier.MaxFutureSkew"/>
/// after the receipt was written. Older receipts guard nothing (the statement is stale by then) and are pruned,
/// with a wide margin for clocks that disagree between instances.
/// </summary>
public sealed class StatementReceiptPruning(IDocumentStore store, TimeProvider time, ILogger<StatementReceiptPruning> logger) : BackgroundService
{
    public static readonly TimeSpan KeepFor = TimeSpan.FromHours(1);
    private static readonly TimeSpan Every = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The first round waits one interval: starting a process (a cold function) does no pruning work.
        using var timer = new PeriodicTimer(Every, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PruneAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Pruning statement receipts failed; the next round tries again.");
            }
        }
    }

    public async Task PruneAsync(CancellationToken ct)
    {
        var cutoff = time.GetUtcNow() - KeepFor;
        await using var session = store.LightweightSession();
        session.DeleteWhere<StatementReceipt>(r => r.AcceptedAt < cutoff);
        await session.SaveChangesAsync(ct);
    }
}
