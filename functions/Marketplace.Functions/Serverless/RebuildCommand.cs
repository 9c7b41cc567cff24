using System.Diagnostics;
using JasperFx.Events.Projections;
using Marten;

namespace Marketplace.Functions.Serverless;

/// <summary>
/// <c>Marketplace.Functions projections-rebuild [name…]</c>: the operator's rebuild of read models from the event
/// store — every async projection (package and version documents, download counters, search, transparency log), or
/// the ones named. Each projection's data is torn down and refolded from the first event; the log itself is never
/// touched. Run it with no daemon running elsewhere (stop the schedule or the in-process daemon first): it takes the
/// projections over while it runs.
/// </summary>
public static class RebuildCommand
{
    public const string Name = "projections-rebuild";

    public static bool IsRequested(string[] args) => args is [Name, ..];

    public static async Task<int> RunAsync(WebApplication app, string[] args)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RebuildCommand));
        var store = app.Services.GetRequiredService<IDocumentStore>();
        var names = args.Skip(1).ToList();
        var known = AsyncProjectionNames(store);
        if (names.FirstOrDefault(n => !known.Contains(n)) is { } unknown)
        {
            logger.LogError("No async projection {Name}; known: {Known}", unknown, string.Join(", ", known));
            return 2;
        }
        var clock = Stopwatch.StartNew();
        var events = await RebuildAsync(store, names.Count > 0 ? names : known, app.Lifetime.ApplicationStopping,
            (name, ms) => logger.LogInformation("Rebuilt {Projection} in {ElapsedMs} ms", name, ms));
        logger.LogInformation("projections-rebuild: {Count} projection(s) over {Events} events in {ElapsedMs} ms",
            names.Count > 0 ? names.Count : known.Count, events, clock.ElapsedMilliseconds);
        return 0;
    }

    public static IReadOnlyList<string> AsyncProjectionNames(IDocumentStore store) =>
        ((StoreOptions)store.Options).Projections.All.Where(p => p.Lifecycle == ProjectionLifecycle.Async).Select(p => p.Name).Distinct().ToList();

    /// <summary>Rebuilds the named projections one after the other; returns the number of events in the store.</summary>
    public static async Task<long> RebuildAsync(
        IDocumentStore store, IReadOnlyList<string> names, CancellationToken ct, Action<string, long>? rebuilt = null)
    {
        using var daemon = await store.BuildProjectionDaemonAsync();
        foreach (var name in names)
        {
            var clock = Stopwatch.StartNew();
            await daemon.RebuildProjectionAsync(name, TimeSpan.FromMinutes(30), ct);
            rebuilt?.Invoke(name, clock.ElapsedMilliseconds);
        }
        var statistics = await store.Advanced.FetchEventStoreStatistics(token: ct);
        return statistics.EventCount;
    }
}
