using System.Diagnostics;
using System.Globalization;
using System.Web;
using Marketplace.Functions.Search.Embedded;
using Marketplace.Search;
using Marketplace.Testing;

namespace Marketplace.Benchmark;

/// <summary>
/// <c>--phase index</c>: the embedded search index alone, in this process — no HTTP, no database. Loads the search
/// phase's corpus straight into a <see cref="PackageIndex"/> and runs the same fixed mixed query set (and the
/// suggest prefixes) one query at a time on one thread, so each figure is the engine's own CPU cost per query: what
/// bounds the service's search throughput once HTTP is cheap. For profiling and for comparing index changes side by
/// side; the service figures come from <c>--phase search</c>.
/// </summary>
internal static class SearchIndexBench
{
    public static int Run(BenchOptions options, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        var corpus = SearchCorpus.Generate(options.SearchPackages);
        var cases = SearchQuerySet.Build(corpus, options.SearchQueries);
        var generated = clock.Elapsed;
        var time = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var rows = CorpusRows.Of(corpus, time);

        var before = GC.GetTotalMemory(forceFullCollection: true);
        clock.Restart();
        var index = new PackageIndex();
        // All at once, as the service loads its index at start.
        index.Apply(rows);
        var load = clock.Elapsed;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        output.WriteLine(F($"[index] {rows.Count:N0} packages ({index.VisibleCount:N0} visible), corpus generated in {generated.TotalSeconds:0.0} s; loaded in {load.TotalSeconds:0.00} s; managed heap +{(after - before) / 1048576.0:0} MB (vocabularies and postings {index.IndexBytes() / 1048576.0:0} MB)"));

        var queries = cases.Select(c => (c.Kind, Query: Parse(c.Path))).ToArray();
        var prefixes = new SuggestWorkload(corpus, "suggest").Prefixes.Select(p => SuggestQuery.Create(p).Value!).ToArray();

        // Warm-up: every query twice (JIT, Lucene's per-segment caches).
        for (var round = 0; round < 2; round++)
        {
            foreach (var (_, q) in queries) index.Search(q);
            foreach (var p in prefixes) index.Suggest(p);
        }

        var seconds = options.Seconds;
        var perKind = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var all = new List<double>();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        clock.Restart();
        var n = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var (kind, q) = queries[n++ % queries.Length];
            var start = Stopwatch.GetTimestamp();
            index.Search(q);
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            all.Add(ms);
            (perKind.TryGetValue(kind, out var list) ? list : perKind[kind] = []).Add(ms);
        }
        var wall = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        output.WriteLine(F($"[index] search, one thread, {seconds:0} s: {all.Count / wall:N0} q/s, CPU {cpuSeconds / all.Count * 1000:0.000} ms/query (GC included)"));
        output.WriteLine("  kind          share     mean      p50      p99      max   (ms)");
        foreach (var (kind, _) in SearchQuerySet.Kinds)
            if (perKind.TryGetValue(kind, out var list)) output.WriteLine(Line(kind, list, all.Count));
        output.WriteLine(Line("all", all, all.Count));

        var suggest = new List<double>();
        clock.Restart();
        n = 0;
        while (clock.Elapsed.TotalSeconds < Math.Max(1, seconds / 2))
        {
            var start = Stopwatch.GetTimestamp();
            index.Suggest(prefixes[n++ % prefixes.Length]);
            suggest.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        output.WriteLine(Line("suggest", suggest, suggest.Count));

        // What a publish costs the index once it is loaded: one new package per Apply (the feed applies what each
        // projection batch changed), its words those of a corpus package.
        var applies = new List<double>();
        for (var i = 0; i < 500; i++)
        {
            var row = rows[i * 197 % rows.Count] with { Name = F($"bench-new-{i}"), Visible = true, UpdatedAt = time.AddYears(1).AddSeconds(i) };
            var start = Stopwatch.GetTimestamp();
            index.Apply([row]);
            applies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        output.WriteLine(Line("apply-new", applies, applies.Count));
        output.WriteLine("Rerun with: dotnet run -c Release --project tests/Marketplace.Benchmark -- --phase index " +
            F($"--search-packages {options.SearchPackages} --search-queries {options.SearchQueries} --seconds {seconds:0}"));
        return 0;
    }

    private static SearchQuery Parse(string path)
    {
        var q = HttpUtility.ParseQueryString(path[(path.IndexOf('?', StringComparison.Ordinal) + 1)..]);
        return SearchQuery.Create(q["q"], q["category"], q["keyword"], q["author"], q["license"], q["minDownloads"], q["sort"], q["limit"], q["offset"]).Value!;
    }

    private static string Line(string kind, List<double> ms, int total)
    {
        var sorted = ms.Order().ToArray();
        double At(double p) => sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
        return F($"  {kind,-12} {100.0 * ms.Count / total,5:0.0}%  {ms.Average(),7:0.000}  {At(0.5),7:0.000}  {At(0.99),7:0.000}  {sorted[^1],7:0.000}");
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
