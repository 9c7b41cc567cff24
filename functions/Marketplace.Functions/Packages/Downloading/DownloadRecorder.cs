using System.Threading.Channels;
using Marketplace.Downloads;
using Marten;

namespace Marketplace.Functions.Packages.Downloading;

public sealed class DownloadOptions
{
    /// <summary>Most downloads committed in one transaction.</summary>
    public int MaxBatch { get; set; } = 512;
    /// <summary>Transactions in flight at once: while one commits, the next batch gathers.</summary>
    public int Writers { get; set; } = 2;
}

/// <summary>
/// Group commit for <see cref="Downloaded"/>: concurrent downloads queue here and are appended together, one
/// new download stream per transaction. Each caller is answered only after its event is committed, so a
/// redirect is never sent for a download that was not recorded.
/// </summary>
public sealed class DownloadRecorder : BackgroundService
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = false });
    private readonly IDocumentStore _store;
    private readonly DownloadOptions _options;
    private readonly ILogger<DownloadRecorder> _logger;

    public DownloadRecorder(IDocumentStore store, DownloadOptions options, ILogger<DownloadRecorder> logger)
    {
        _store = store;
        _options = options;
        _logger = logger;
    }

    private sealed record Pending(Downloaded Event, string CorrelationId, TaskCompletionSource Done);

    /// <summary>Completes once the event is durable; throws if the commit failed.</summary>
    public Task RecordAsync(Downloaded downloaded, string correlationId, CancellationToken ct)
    {
        var pending = new Pending(downloaded, correlationId, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
            throw new InvalidOperationException("The download recorder has stopped.");
        return pending.Done.Task.WaitAsync(ct);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Math.Max(1, _options.Writers)).Select(_ => WriteLoop()));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private async Task WriteLoop()
    {
        var batch = new List<Pending>(_options.MaxBatch);
        // Keep draining after stop is requested: queued callers are owed an answer.
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            while (batch.Count < _options.MaxBatch && _queue.Reader.TryRead(out var next))
                batch.Add(next);
            if (batch.Count == 0) continue;
            try
            {
                await using var session = _store.LightweightSession();
                // One correlation id per transaction is what Marten stores per session; the batch's first stands for it.
                session.CorrelationId = batch[0].CorrelationId;
                session.Events.StartStream($"downloads-{Guid.CreateVersion7():n}", batch.Select(p => (object)p.Event).ToArray());
                await session.SaveChangesAsync(CancellationToken.None);
                foreach (var p in batch) p.Done.TrySetResult();
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Recording {Count} downloads failed; their requests are answered 503.", batch.Count);
                foreach (var p in batch) p.Done.TrySetException(e);
            }
        }
    }
}
