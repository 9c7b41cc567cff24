using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Marketplace.Functions.Observability;

/// <summary>
/// The registry's own instruments, on one process-wide <see cref="Meter"/> named <c>Marketplace</c>. Exporters
/// (Prometheus, CloudWatch EMF) listen to this meter; nothing here knows about them. Tags are low-cardinality by
/// construction: never a package name, version, key or address.
/// </summary>
public static class MarketplaceMetrics
{
    public const string MeterName = MarketplaceMeter.Name;

    private static readonly Meter Meter = MarketplaceMeter.Instance;

    private static readonly Counter<long> Publishes =
        Meter.CreateCounter<long>("publishes", "{version}", "Versions published.");
    private static readonly Counter<long> Downloads =
        Meter.CreateCounter<long>("downloads", "{download}", "Downloads recorded (each one a Downloaded event, committed before its redirect).");
    private static readonly Counter<long> Yanks =
        Meter.CreateCounter<long>("yanks", "{version}", "Versions yanked or unyanked (tag action), no-ops left out.");
    private static readonly Counter<long> OwnerChanges =
        Meter.CreateCounter<long>("owner_changes", "{owner}", "Owner keys added or removed (tag action), no-ops left out.");
    private static readonly Counter<long> Rejections =
        Meter.CreateCounter<long>("rejections", "{problem}", "Problem answers, by problem code.");
    private static readonly Histogram<double> RequestDuration =
        Meter.CreateHistogram("request.duration", "ms", "Time to answer a request, by route template, method and status class.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsMs });

    // Each host (one in production, several in a test process) registers its sampler; the gauges read what the
    // samplers last measured, so a scrape never waits on the database.
    private static readonly ConcurrentDictionary<object, Func<IReadOnlyList<ProjectionLag>>> LagSources = new();

    private static readonly ObservableGauge<long> LagEvents = Meter.CreateObservableGauge("projection.lag", () => ObserveLag(l => l.Events),
        "{event}", "Events committed (up to the high-water mark) that a read model has not processed yet.");
    private static readonly ObservableGauge<double> LagSeconds = Meter.CreateObservableGauge("projection.lag_seconds",
        () => ObserveLag(l => l.Seconds),
        "s", "Age of the oldest event a read model has not processed yet; 0 when it is caught up.");

    /// <summary>Upper bounds of the latency histogram's buckets, in milliseconds.</summary>
    public static double[] LatencyBucketsMs => [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

    public static void Published() => Publishes.Add(1);

    public static void Downloaded() => Downloads.Add(1);

    public static void YankChanged(bool yanked) => Yanks.Add(1, new KeyValuePair<string, object?>("action", yanked ? "yank" : "unyank"));

    public static void OwnerChanged(bool added) => OwnerChanges.Add(1, new KeyValuePair<string, object?>("action", added ? "add" : "remove"));

    public static void Rejected(string code) => Rejections.Add(1, new KeyValuePair<string, object?>("code", code));

    /// <param name="route">The route template (<c>/v1/packages/{name}</c>), never the path.</param>
    public static void RequestCompleted(string route, string method, int status, TimeSpan elapsed)
    {
        if (!RequestDuration.Enabled) return;
        var tags = new TagList
        {
            { "route", route },
            { "method", method },
            { "status", StatusClass(status) },
        };
        RequestDuration.Record(elapsed.TotalMilliseconds, tags);
    }

    /// <summary>Adds a source of projection lag samples until the returned handle is disposed.</summary>
    public static IDisposable ObserveProjectionLag(Func<IReadOnlyList<ProjectionLag>> source)
    {
        var key = new object();
        LagSources[key] = source;
        return new Registration(() => LagSources.TryRemove(key, out _));
    }

    private static List<Measurement<T>> ObserveLag<T>(Func<ProjectionLag, T> value) where T : struct =>
        LagSources.Values.SelectMany(source => source())
            .Select(l => new Measurement<T>(value(l), new KeyValuePair<string, object?>("projection", l.Projection)))
            .ToList();

    private static string StatusClass(int status) => status switch
    {
        >= 100 and < 200 => "1xx",
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    };

    private sealed class Registration(Action dispose) : IDisposable
    {
        private int _disposed;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) dispose();
        }
    }
}

/// <summary>How far one read model (an async projection shard) is behind the event store.</summary>
public sealed record ProjectionLag(string Projection, long Events, double Seconds);
