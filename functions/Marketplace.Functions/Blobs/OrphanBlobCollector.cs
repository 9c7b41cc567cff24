using System.Diagnostics;
using Marketplace.Blobs;
using Marketplace.Packages;
using Marten;

namespace Marketplace.Functions.Blobs;

public sealed class OrphanOptions
{
    /// <summary>A blob younger than this is never collected: a publish that placed or found it may still commit.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often an instance running the daemon in-process sweeps; zero turns the sweep off.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromHours(6);
}

public sealed record OrphanCollection(int Listed, int Young, int Referenced, int Deleted, long ElapsedMs);

/// <summary>
/// Deletes published-area blobs that no committed <see cref="PackagePublished"/> event refers to and that are older
/// than the grace period. The request path never deletes a content-addressed blob: a publish that stored one and then
/// lost (version exists, not an owner, a replayed statement) may share it with another publish of the same bytes
/// that saw "already stored" and has not committed yet. The collector judges against committed events only, in
/// batches (an indexed lookup by event type and digest, never a scan per blob), and asks again just before deleting.
/// </summary>
public sealed class OrphanBlobCollector(IBlobInventory inventory, IBlobStore blobs, IDocumentStore store, OrphanOptions options,
    TimeProvider time, ILogger<OrphanBlobCollector> logger)
{
    private const int Batch = 500;

    public async Task<OrphanCollection> CollectAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var cutoff = time.GetUtcNow() - options.Grace;
        int listed = 0, young = 0, referenced = 0, deleted = 0;
        var candidates = new List<string>(Batch);
        await foreach (var blob in inventory.ListAsync(ct))
        {
            listed++;
            if (blob.LastModified > cutoff) { young++; continue; }
            candidates.Add(blob.Sha256);
            if (candidates.Count == Batch) await Flush();
        }
        await Flush();
        var result = new OrphanCollection(listed, young, referenced, deleted, clock.ElapsedMilliseconds);
        logger.LogInformation(
            "Orphan blobs: {Deleted} deleted of {Listed} listed ({Young} within the grace period, {Referenced} referenced) in {ElapsedMs} ms",
            deleted, listed, young, referenced, result.ElapsedMs);
        return result;

        async Task Flush()
        {
            if (candidates.Count == 0) return;
            var used = await ReferencedAsync(candidates, ct);
            referenced += used.Count;
            var orphans = candidates.Where(c => !used.Contains(c)).ToList();
            // Asked again just before deleting: a publish of the same bytes may have committed since the first look.
            var usedNow = orphans.Count == 0 ? used : await ReferencedAsync(orphans, ct);
            foreach (var sha256 in orphans.Where(o => !usedNow.Contains(o)))
            {
                await blobs.DeleteAsync(sha256, ct);
                deleted++;
            }
            candidates.Clear();
        }
    }

    /// <summary>Which of <paramref name="digests"/> a committed publish refers to (mt_events filtered by its type index).</summary>
    public async Task<HashSet<string>> ReferencedAsync(IReadOnlyCollection<string> digests, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var list = digests.ToArray();
        var found = await session.Events.QueryRawEventDataOnly<PackagePublished>()
            .Where(e => list.Contains(e.Sha256))
            .Select(e => e.Sha256)
            .ToListAsync(ct);
        return found.ToHashSet(StringComparer.Ordinal);
    }
}

/// <summary>The collector on a timer, on instances that run the daemon in-process (the serverless deployment runs the command).</summary>
public sealed class OrphanBlobSweep(
    OrphanBlobCollector collector, OrphanOptions options, Infrastructure.StoreSettings store, ILogger<OrphanBlobSweep> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.SweepInterval <= TimeSpan.Zero
            || store.Daemon != JasperFx.Events.Daemon.DaemonMode.Solo)
            return;
        using var timer = new PeriodicTimer(options.SweepInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await collector.CollectAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "The orphan blob sweep failed; it runs again in {Interval}.", options.SweepInterval);
            }
        }
    }
}

/// <summary><c>Marketplace.Functions blobs-collect-orphans</c>: the operator's (or a schedule's) orphan collection.</summary>
public static class OrphanCollectCommand
{
    public const string Name = "blobs-collect-orphans";

    public static bool IsRequested(string[] args) => args is [Name, ..];

    public static async Task<int> RunAsync(WebApplication app)
    {
        var result = await app.Services.GetRequiredService<OrphanBlobCollector>().CollectAsync(app.Lifetime.ApplicationStopping);
        Console.WriteLine($"{Name}: deleted {result.Deleted} of {result.Listed} blobs " +
            $"({result.Young} within the grace period, {result.Referenced} referenced) in {result.ElapsedMs} ms");
        return 0;
    }
}
