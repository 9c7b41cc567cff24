using System.Globalization;

namespace Marketplace.WebhookBench;

/// <summary>Command-line options: <c>--name value</c> pairs and flags.</summary>
internal sealed record BenchOptions(
    int Events, int Repeats, int Packages, int LatencyEvents, double LatencyRate, int Concurrency, bool Poll, bool Keep)
{
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions(Events: 5000, Repeats: 3, Packages: 64, LatencyEvents: 200, LatencyRate: 20, Concurrency: 16, Poll: false, Keep: false);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            o = args[i] switch
            {
                "--events" => o with { Events = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--repeats" => o with { Repeats = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--packages" => o with { Packages = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--latency-events" => o with { LatencyEvents = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--latency-rate" => o with { LatencyRate = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--concurrency" => o with { Concurrency = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--poll" => o with { Poll = true },
                "--keep" => o with { Keep = true },
                _ => throw new ArgumentException($"Unknown option {args[i]}. Options: --events N --repeats N --packages N --latency-events N --latency-rate per-second --concurrency N --poll --keep"),
            };
        }
        return o;
    }
}
