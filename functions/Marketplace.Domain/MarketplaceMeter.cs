using System.Diagnostics.Metrics;

namespace Marketplace;

/// <summary>The registry's one meter: every instrument of the service, its webhooks and its projections is on it.</summary>
public static class MarketplaceMeter
{
    public const string Name = "Marketplace";

    public static readonly Meter Instance = new(Name, "1.0");
}
