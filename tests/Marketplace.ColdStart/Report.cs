using System.Globalization;

namespace Marketplace.ColdStart;

internal static class Report
{
    private static readonly (string Label, Func<string, bool> Matches)[] Breakdown =
    [
        ("runtime up, Main entered", n => n == "main"),
        ("services registered", n => n == "services"),
        ("host built", n => n == "host built"),
        ("Marten store configured", n => n == "marten store"),
        ("listening", n => n == "listening"),
        ("first request arrives", n => n == "first request"),
        ("GET /health/ready answered", n => n.Contains("GET /health/ready", StringComparison.Ordinal)),
        ("first publish answered", n => n.Contains("PUT /v1/packages/{name}/{version}", StringComparison.Ordinal)),
        ("first download answered", n => n.Contains("/download", StringComparison.Ordinal)),
    ];

    public static void Print(ColdStartOptions options, IReadOnlyList<RunResult> results)
    {
        var variants = results.Select(r => r.Variant).Distinct().ToList();
        Console.WriteLine();
        Console.WriteLine($"Medians of {options.Runs} cold starts per variant, ms since the process was started (blob store: {options.Blobs}):");
        Console.WriteLine();
        Console.WriteLine("| variant | db-apply | ready (GET /health/ready 200) | first publish (201) | publish itself | first download (302) | download itself |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var v in variants)
        {
            var runs = results.Where(r => r.Variant == v).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {v.Name} | {Median(runs, r => r.DbApplyMs):0} | {Median(runs, r => r.ReadyMs):0} | {Median(runs, r => r.PublishMs):0} | {Median(runs, r => r.PublishLatencyMs):0} | {Median(runs, r => r.DownloadMs):0} | {Median(runs, r => r.DownloadLatencyMs):0} |"));
        }

        Console.WriteLine();
        Console.WriteLine("Where a start spends its time (the app's startup milestones; medians; ms since process start / methods JIT-compiled so far / JIT ms so far):");
        Console.WriteLine();
        Console.WriteLine("| milestone | " + string.Join(" | ", variants.Select(v => v.Name)) + " |");
        Console.WriteLine("|---|" + string.Concat(variants.Select(_ => "---|")));
        foreach (var (label, matches) in Breakdown)
        {
            var cells = variants.Select(v =>
            {
                var hits = results.Where(r => r.Variant == v).Select(r => r.Milestones.FirstOrDefault(m => matches(m.Name))).OfType<Milestone>().ToList();
                return hits.Count == 0 ? "—" : string.Create(CultureInfo.InvariantCulture,
                    $"{Median(hits, m => m.AtMs):0} / {Median(hits, m => m.JitMethods):0} / {Median(hits, m => m.JitMs):0}");
            });
            Console.WriteLine($"| {label} | {string.Join(" | ", cells)} |");
        }
        Console.WriteLine();
        Console.WriteLine("Rerun: dotnet run -c Release --project tests/Marketplace.ColdStart -- " + (options.CommandLine.Length > 0 ? options.CommandLine : "--runs 5"));
    }

    private static double Median<T>(IReadOnlyList<T> items, Func<T, double> value)
    {
        var sorted = items.Select(value).Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
