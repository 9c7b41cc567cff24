using System.Diagnostics.Metrics;
using JasperFx.Events;

namespace Marketplace.Projections;

/// <summary>
/// How long events take to reach each read model: for every event a projection applies, the time from the event's
/// commit (its timestamp) to its application, as the <c>projection.visibility_delay</c> histogram (seconds, tag
/// <c>projection</c>) on the registry's <c>Marketplace</c> meter. Rebuilds show up as long delays.
/// </summary>
public static class ProjectionMetrics
{
    private static readonly Histogram<double> VisibilityDelay = MarketplaceMeter.Instance.CreateHistogram<double>("projection.visibility_delay", "s",
        "Time from an event's commit to its application by a read model, by projection.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300] });

    public static void Applied(string projection, IReadOnlyList<IEvent> events)
    {
        if (!VisibilityDelay.Enabled || events.Count == 0) return;
        var now = TimeProvider.System.GetUtcNow();
        var tag = new KeyValuePair<string, object?>("projection", projection);
        foreach (var e in events)
            VisibilityDelay.Record(Math.Max(0, (now - e.Timestamp).TotalSeconds), tag);
    }

    public static void Applied(string projection, IEvent e)
    {
        if (!VisibilityDelay.Enabled) return;
        VisibilityDelay.Record(Math.Max(0, (TimeProvider.System.GetUtcNow() - e.Timestamp).TotalSeconds),
            new KeyValuePair<string, object?>("projection", projection));
    }
}
