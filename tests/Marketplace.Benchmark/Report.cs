using System.Globalization;
using System.Runtime.InteropServices;

namespace Marketplace.Benchmark;

/// <summary>The figures of one phase at one concurrency: every measured run with its memory and CPU.</summary>
internal sealed class Row(string phase, int concurrency)
{
    public string Phase { get; } = phase;
    public int Concurrency { get; } = concurrency;
    public List<RunResult> Runs { get; } = [];
    public List<double> ServerCpuPercent { get; } = [];
    public List<double> GeneratorCpuPercent { get; } = [];
    public List<double> HostBusyPercent { get; } = [];
    /// <summary>CPU time of every PostgreSQL process over the run, in percent of one core.</summary>
    public List<double> PostgresCpuPercent { get; } = [];
    /// <summary>The highest VmRSS sampled during each measured run, in kB.</summary>
    public List<long> RunPeakRssKb { get; } = [];
    public long PeakRssKb => RunPeakRssKb.Count == 0 ? 0 : RunPeakRssKb.Max();

    public double MedianOps => Median(Runs.Select(r => r.OpsPerSecond));
    public double MedianP50 => Median(Runs.Select(r => r.PercentileMs(50)));
    public double MedianP99 => Median(Runs.Select(r => r.PercentileMs(99)));
    public double MaxMs => Runs.Max(r => r.MaxMs);
    public long Errors => Runs.Sum(r => r.Errors);

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>A goal from the issue for one phase at one concurrency.</summary>
internal sealed record Target(string Phase, int Concurrency, double MinOpsPerSecond, double? MaxP99Ms, double? MaxP50Ms = null)
{
    public static readonly IReadOnlyList<Target> FromIssue =
    [
        new("publish", 16, 500, null),
        new("get", 32, 10_000, 10),
        new("download", 64, 6_000, 50),
        // Over the whole mixed query set (issue 3); the publish → searchable target is checked by the search phase.
        new("search", 1, 0, 50, 10),
        new("search", 8, 500, null),
    ];

    public string Describe() =>
        string.Join(", ", new[]
        {
            MinOpsPerSecond > 0 ? F($"≥{MinOpsPerSecond:0}/s") : null,
            MaxP50Ms is { } p50 ? F($"p50<{p50:0}ms") : null,
            MaxP99Ms is { } p99 ? F($"p99<{p99:0}ms") : null,
        }.OfType<string>());

    public bool MetBy(Row row) =>
        row.MedianOps >= MinOpsPerSecond && (MaxP99Ms is not { } p99 || row.MedianP99 < p99) && (MaxP50Ms is not { } p50 || row.MedianP50 < p50) && row.Errors == 0;

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

internal static class Report
{
    public static string F(double value, int decimals = 1) =>
        double.IsNaN(value) ? "-" : value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static string Mb(long kb) => kb <= 0 ? "-" : F(kb / 1024.0, 0);

    public static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A plain text table: the first column left-aligned, the others right-aligned.</summary>
    public static void Table(TextWriter output, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, string indent = "  ")
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        string Line(IReadOnlyList<string> cells) =>
            indent + string.Join("  ", cells.Select((c, i) => i == 0 || i == cells.Count - 1 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
        output.WriteLine(Line(headers));
        output.WriteLine(indent + string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var r in all) output.WriteLine(Line(r));
    }

    private static readonly int[] RunWidths = [8, 4, 5, 9, 8, 8, 8, 6, 7, 7, 7, 8, 12, 6, 8, 0];

    /// <summary>One line of the per-run table, in fixed columns so that lines printed as runs finish line up.</summary>
    public static string RunLine(IReadOnlyList<string> cells) =>
        ("  " + string.Join("  ", cells.Select((c, i) => i == 0 ? c.PadRight(RunWidths[i]) : c.PadLeft(RunWidths[i])))).TrimEnd();

    public static IReadOnlyList<string> RunHeaders { get; } =
        ["phase", "conc", "run", "ops/s", "p50 ms", "p99 ms", "max ms", "errors", "srv cpu", "gen cpu", "pg cpu", "host cpu", "µs/op srv+pg", "rss MB", "B/resp", "statuses"];

    public static IReadOnlyList<string> RunCells(Row row, int index, int repeats) =>
    [
        row.Phase, I(row.Concurrency), $"{index + 1}/{repeats}", F(row.Runs[index].OpsPerSecond), F(row.Runs[index].PercentileMs(50), 2),
        F(row.Runs[index].PercentileMs(99), 2), F(row.Runs[index].MaxMs, 1), I(row.Runs[index].Errors),
        F(row.ServerCpuPercent[index], 0) + "%", F(row.GeneratorCpuPercent[index], 0) + "%", F(row.PostgresCpuPercent[index], 0) + "%",
        F(row.HostBusyPercent[index], 0) + "%", PerOperation(row.ServerCpuPercent[index], row.PostgresCpuPercent[index], row.Runs[index].OpsPerSecond), Mb(row.RunPeakRssKb[index]), F(row.Runs[index].MeanResponseBytes, 0), row.Runs[index].StatusSummary(),
    ];

    public static IReadOnlyList<string> SummaryHeaders { get; } =
        ["phase", "conc", "runs", "ops/s", "p50 ms", "p99 ms", "max ms", "errors", "srv cpu", "gen cpu", "host cpu", "peak rss MB", "target"];

    public static IReadOnlyList<string> SummaryCells(Row row)
    {
        var target = Target.FromIssue.FirstOrDefault(t => t.Phase == row.Phase && t.Concurrency == row.Concurrency);
        return
        [
            row.Phase, I(row.Concurrency), I(row.Runs.Count), F(row.MedianOps), F(row.MedianP50, 2), F(row.MedianP99, 2), F(row.MaxMs, 1),
            I(row.Errors), F(Row.Median(row.ServerCpuPercent), 0) + "%", F(Row.Median(row.GeneratorCpuPercent), 0) + "%",
            F(Row.Median(row.HostBusyPercent), 0) + "%", Mb(row.PeakRssKb),
            target is null ? "" : $"{target.Describe()}: {(target.MetBy(row) ? "met" : "MISSED")}",
        ];
    }

    public static IEnumerable<string> Machine()
    {
        yield return $"processors:  {Environment.ProcessorCount} (Environment.ProcessorCount)";
        yield return $"cpu:         {CpuModel()}";
        yield return $"memory:      {MemTotal()}";
        yield return $"os:          {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})";
        yield return $"runtime:     {RuntimeInformation.FrameworkDescription}";
    }

    /// <summary>The machine's CPU counters (first line of /proc/stat): busy and total jiffies over all cores.</summary>
    public static (long Busy, long Total) HostCpu()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal …: idle and iowait are not busy; guest time is already in user.
            var total = fields.Take(8).Sum();
            return (total - fields[3] - fields[4], total);
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }

    /// <summary>CPU microseconds per answered operation of the service and of PostgreSQL (<c>srv+pg</c>).</summary>
    private static string PerOperation(double serverPercent, double postgresPercent, double opsPerSecond) =>
        opsPerSecond <= 0 ? "-" : $"{F(serverPercent * 1e4 / opsPerSecond, 0)}+{F(postgresPercent * 1e4 / opsPerSecond, 0)}";

    /// <summary>
    /// CPU time (user + system) of the processes named <c>postgres</c> now, from /proc/&lt;pid&gt;/stat: the server,
    /// its background workers and every backend. A backend that exits between two readings is not counted; the
    /// service's pooled connections stay open through a run.
    /// </summary>
    public static TimeSpan PostgresCpu()
    {
        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                if (open < 0 || close < 0 || stat[(open + 1)..close] != "postgres") continue;
                // After "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
                var fields = stat[(close + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // gone meanwhile
            }
            catch (UnauthorizedAccessException)
            {
                // not ours to read
            }
        }
        // USER_HZ is 100 on Linux.
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    /// <summary>Share of all cores busy between two <see cref="HostCpu"/> readings, in percent.</summary>
    public static double HostBusyPercent((long Busy, long Total) before, (long Busy, long Total) after) =>
        after.Total > before.Total ? 100.0 * (after.Busy - before.Busy) / (after.Total - before.Total) : double.NaN;

    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) is { } line
                ? line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()
                : "unknown (no 'model name' in /proc/cpuinfo)";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string MemTotal()
    {
        try
        {
            return File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) is { } line
                ? Mb(long.Parse(line[9..].Trim().TrimEnd('B', 'k').Trim(), CultureInfo.InvariantCulture)) + " MB"
                : "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
