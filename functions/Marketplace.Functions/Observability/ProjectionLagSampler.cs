using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;

namespace Marketplace.Functions.Observability;

/// <summary>
/// Measures how far each async read model is behind, for the <c>projection.lag</c> gauges. Lag in events is the
/// high-water mark (the highest sequence the daemon may process: every event below it is committed) minus the
/// shard's progress; lag in seconds is the age of the first event past the shard's progress, so it shows a stalled
/// daemon even when the high-water mark itself has stopped moving. Sampled in the background every
/// <c>Observability:ProjectionLagInterval</c>: gauges are read synchronously at scrape or flush time and must not wait
/// on PostgreSQL.
/// </summary>
public sealed class ProjectionLagSampler(IDocumentStore store, TimeProvider time, ObservabilityOptions options, ILogger<ProjectionLagSampler> logger)
    : BackgroundService
{
    private volatile IReadOnlyList<ProjectionLag> _last = [];

    public IReadOnlyList<ProjectionLag> Last => _last;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var registration = MarketplaceMetrics.ObserveProjectionLag(() => _last);
        using var timer = new PeriodicTimer(options.ProjectionLagInterval, time);
        do
        {
            try
            {
                _last = await SampleAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A missing schema (before the first migration) or a database blip: keep the last sample.
                logger.LogWarning(e, "Could not sample projection lag.");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public async Task<IReadOnlyList<ProjectionLag>> SampleAsync(CancellationToken ct)
    {
        var progress = await store.Advanced.AllProjectionProgress(token: ct);
        var highWaterMark = progress.FirstOrDefault(p => p.ShardName == ShardState.HighWaterMark)?.Sequence ?? 0;
        var shards = store.Advanced.AllAsyncProjectionShardNames().Select(s => s.Identity).ToList();
        var now = time.GetUtcNow();
        var lags = new List<ProjectionLag>(shards.Count);
        await using var session = store.QuerySession();
        foreach (var shard in shards)
        {
            var position = progress.FirstOrDefault(p => p.ShardName == shard)?.Sequence ?? 0;
            var oldest = await session.Events.QueryAllRawEvents()
                .Where(e => e.Sequence > position)
                .OrderBy(e => e.Sequence)
                .Select(e => e.Timestamp)
                .FirstOrDefaultAsync(ct);
            var seconds = oldest == default ? 0 : Math.Max(0, (now - oldest).TotalSeconds);
            lags.Add(new ProjectionLag(shard, Math.Max(0, highWaterMark - position), seconds));
        }
        return lags;
    }

    private static async ValueTask<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
