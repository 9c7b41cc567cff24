using System.Diagnostics.Metrics;
using System.Text.Json;
using Marketplace.Functions.Observability;

namespace Marketplace.Functions.Webhooks;

/// <summary>Webhook instruments on the registry's <c>Marketplace</c> meter (so every exporter sees them).</summary>
public static class WebhookMetrics
{
    private static readonly Meter Meter = MarketplaceMeter.Instance;

    private static readonly Counter<long> Attempts =
        Meter.CreateCounter<long>("webhook.attempts", "{attempt}", "Webhook delivery attempts, by the state they left the delivery in.");

    private static readonly Histogram<double> Latency = Meter.CreateHistogram<double>("webhook.delivery_latency", "s",
        "Time from a delivery being queued (with its event's commit, up to the daemon's lag) to the receiver's 2xx.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600] });

    public static void Attempted(string state) => Attempts.Add(1, new KeyValuePair<string, object?>("state", state));

    public static void Delivered(TimeSpan sinceQueued) => Latency.Record(Math.Max(0, sinceQueued.TotalSeconds));
}

public static class WebhookJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
