using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Marketplace.Signing;

namespace Marketplace.Benchmark;

/// <summary>
/// <c>--phase search</c>: load the corpus through the API (or reuse a schema that holds it), wait for the search
/// index to catch up, time the mixed query set at each concurrency, then measure publish → searchable.
/// </summary>
internal sealed partial class Benchmark
{
    private const int DownloadConcurrency = 64;
    private const double MaxLagP99Ms = 1_000;
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromMinutes(20);

    /// <summary>What a reused schema already holds (null: the corpus is loaded by this run).</summary>
    private Database.CorpusMarker? _reused;
    private readonly List<LagResult> _lagRuns = [];
    private readonly List<string> _slowest = [];
    /// <summary>The load's figures, repeated in the summary.</summary>
    private readonly List<string> _loadFigures = [];
    private int _corpusPackages;
    private string? _projections;

    /// <summary>SHA-256 (first 16 hex digits) of the sources under projections/ (no bin/obj): what built the read models.</summary>
    private static string ProjectionsFingerprint(string repo)
    {
        var root = Path.Combine(repo, "projections");
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !f.Split('/').Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(file + "\n"));
            sha.AppendData(File.ReadAllBytes(Path.Combine(root, file)));
        }
        return "projections@" + Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    /// <summary>
    /// A reused schema either holds a complete corpus of the same size whose read models were built by the same
    /// projections (other sessions change them as this runs), or does not exist yet.
    /// </summary>
    private async Task CheckReusedSchemaAsync(string repo, CancellationToken ct)
    {
        _projections = ProjectionsFingerprint(repo);
        if (options.ReuseSchema is not { } schema) return;
        if (!await Database.HasEventsTableAsync(schema, ct))
        {
            _out.WriteLine($"Schema {schema} does not exist yet: this run loads the corpus into it and keeps it.");
            return;
        }
        var marker = await Database.ReadCorpusMarkerAsync(schema, ct)
            ?? throw new InvalidOperationException($"Schema {schema} holds events but no complete search corpus (an interrupted or failed load?). " +
                $"Drop it (psql: drop schema {schema} cascade; in database {Database.Name}) or pass another --reuse-schema name.");
        if (marker.Packages != options.SearchPackages || marker.Seed != SearchCorpusPlan.Seed)
            throw new InvalidOperationException($"Schema {schema} holds a corpus of {marker.Packages} packages (seed {marker.Seed}), not {options.SearchPackages} " +
                $"(seed {SearchCorpusPlan.Seed}): pass --search-packages {marker.Packages} or another --reuse-schema name.");
        if (marker.Projections != _projections)
            throw new InvalidOperationException($"Schema {schema} was loaded when the projections' sources were {marker.Projections ?? "not recorded"}; " +
                $"they are {_projections} now, so its read models may be stale or missing tables. Load it again: drop it (psql: drop schema {schema} cascade; " +
                $"in database {Database.Name}) or pass another --reuse-schema name.");
        _reused = marker;
        _out.WriteLine(F($"Schema {schema} holds the corpus ({marker.Packages:N0} packages, {marker.Downloads:N0} downloads, loaded {marker.LoadedAt:u}): not loading it again."));
    }

    private async Task<int> SearchPhaseAsync(HttpClient control, StatementSigner signer, CancellationToken ct)
    {
        var generation = Stopwatch.StartNew();
        var plan = _reused is { } loaded
            ? SearchCorpusPlan.ForMaxDownloads(options.SearchPackages, loaded.MaxDownloads)
            : SearchCorpusPlan.Create(options.SearchPackages, options.SearchDownloads);
        _corpusPackages = plan.Packages.Count;
        _out.WriteLine(F($"Corpus: SearchCorpus.Generate({plan.Packages.Count:N0}, seed {SearchCorpusPlan.Seed}, maxDownloads {plan.MaxDownloads:N0}): ") +
            F($"{plan.Versions:N0} versions, {plan.Yanks:N0} of them yanked, {plan.Visible:N0} packages visible in search, {plan.Downloads:N0} downloads ") +
            F($"(budget {options.SearchDownloads:N0}; {plan.Packages.Count(p => p.Downloads > 0):N0} packages downloaded at least once); generated in {generation.Elapsed.TotalSeconds:0.0} s."));
        if (_reused is { } marker && marker.Downloads != plan.Downloads)
            _out.WriteLine(F($"  (the schema was loaded with {marker.Downloads:N0} downloads; --search-downloads {options.SearchDownloads:N0} does not apply to a reused schema)"));

        if (_reused is null)
        {
            if (!await LoadCorpusAsync(plan, signer, control, ct))
            {
                _out.WriteLine("  The load was incomplete: no corpus marker is written, so this schema cannot be reused; the queries run on what was loaded.");
            }
        }
        else
        {
            _out.WriteLine("Waiting for the projections to catch up with the reused schema...");
            await CatchUpAsync(control, expectedTotal: null, ct);
            // The schema also holds the packages of earlier runs' publish → searchable runs (no downloads).
            if (!await CheckTopDownloadsAsync(control, plan, ct))
                throw new InvalidOperationException($"Search over the reused schema {Schema} does not show the corpus as loaded; its figures would mean nothing. Load it again into a new schema.");
        }

        if (!options.LagOnly)
        {
            await MeasureQueriesAsync(plan, "search", ct);
            await MeasureSuggestAsync(plan, "suggest", ct);
        }
        await EmbeddedSearchAsync(plan, signer, ct);
        await MeasureLagAsync(plan, signer, ct);
        return ExitOk;
    }

    /// <summary>Start-up, memory and lag of the embedded index, and the figures of the embedded adapter.</summary>
    private readonly List<string> _embeddedFigures = [];

    /// <summary>
    /// A second instance on the same schema with the embedded index and no daemon (the first one's daemon keeps the
    /// search documents it tails): its start-up to ready (the index load), its memory, the same query set and
    /// suggest prefixes, and publish → searchable through it. The first instance stays up, idle.
    /// </summary>
    private async Task EmbeddedSearchAsync(SearchCorpusPlan plan, StatementSigner signer, CancellationToken ct)
    {
        var port = options.Port + 1;
        ServiceHost.EnsurePortFree(port);
        var environment = new Dictionary<string, string>(_environment)
        {
            ["Search__Adapter"] = "Embedded",
            ["Marten__Daemon"] = "Disabled",
            ["Marten__ApplySchemaOnStartup"] = "false",
            ["Logging__LogLevel__Marketplace.Functions.Search.Embedded"] = "Information",
        };
        var logPath = Path.Combine(_logDir, "service-embedded.log");
        var (postgresHost, postgresBase) = (_host!, _base);
        using var embedded = ServiceHost.Start(_repo, port, environment, logPath);
        _out.WriteLine();
        _out.WriteLine($"Embedded index: started a second instance (Search:Adapter=Embedded, no daemon) on the same schema: pid {embedded.Pid}, http://127.0.0.1:{port}, log {logPath}");
        var embeddedBase = new Uri($"http://127.0.0.1:{port}");
        using (var control = LoadRunner.CreateClient(embeddedBase, 4))
        {
            var ready = await embedded.WaitReadyAsync(control, ReadyTimeout, ct);
            var memory = embedded.TakeWindow();
            var loaded = embedded.LogTail(200).LastOrDefault(l => l.Contains("Embedded search index:", StringComparison.Ordinal)) ?? "(no load line in the log)";
            _embeddedFigures.Add(F($"  start-up to /health/ready (process start, index load): {ready.TotalSeconds:0.0} s; RSS after the load {Report.Mb(memory.RssKb)} MB ") +
                F($"(the PostgreSQL instance at idle start: {Report.Mb(_idleRssKb)} MB)"));
            _embeddedFigures.Add("  " + loaded.Trim());
            foreach (var line in _embeddedFigures) _out.WriteLine(line);
        }
        (_host, _base) = (embedded, embeddedBase);
        try
        {
            if (!options.LagOnly)
            {
                await MeasureQueriesAsync(plan, "search-embedded", ct);
                await MeasureSuggestAsync(plan, "suggest-embedded", ct);
            }
            // Twice: publishes through the instance that runs the daemon (what the index itself adds to the
            // projection's lag, as the PostgreSQL run measures it), then through the embedded instance (a write that
            // lands on an instance without the daemon, which must learn of the append from another process).
            foreach (var (label, publishTo, what) in new[]
            {
                ("e", (Uri?)null, "publishes through the embedded instance"),
                ("d", (Uri?)postgresBase, "publishes through the daemon instance"),
            })
            {
                var before = _lagRuns.Count;
                await MeasureLagAsync(plan, signer, ct, label: label, publishTo: publishTo);
                var lag = _lagRuns.Skip(before).ToList();
                _lagRuns.RemoveRange(before, lag.Count);
                if (lag.Count > 0)
                    _embeddedFigures.Add(F($"  publish → searchable on the embedded instance, {what} (searchVisible there, then found by its search): p50 {Row.Median(lag.Select(r => r.PercentileMs(50))):0.0} ms, ") +
                        F($"p99 {Row.Median(lag.Select(r => r.PercentileMs(99))):0.0} ms (target < 250 ms: {(Row.Median(lag.Select(r => r.PercentileMs(99))) < 250 && lag.Sum(r => r.Errors) == 0 ? "met" : "MISSED")}), ") +
                        F($"max {lag.Max(r => r.MaxMs):0.0} ms, {lag.Sum(r => r.Errors)} errors"));
            }
            _embeddedFigures.Add(F($"  RSS peak of the embedded instance over its runs: {Report.Mb(embedded.Overall.RssKb)} MB"));
        }
        finally
        {
            (_host, _base) = (postgresHost, postgresBase);
        }
    }

    private async Task MeasureSuggestAsync(SearchCorpusPlan plan, string phase, CancellationToken ct)
    {
        var workload = new SuggestWorkload(plan.Packages, phase);
        _out.WriteLine();
        _out.WriteLine(F($"Suggest ({phase}): {workload.Count} prefixes (1–8 characters of 64 corpus names, seed {SuggestWorkload.Seed}), cycling."));
        _out.WriteLine(Report.RunLine(Report.RunHeaders));
        foreach (var concurrency in options.SearchConcurrency)
            await MeasureAsync(workload, concurrency, ct);
    }

    /// <summary>Publishes, yanks and downloads the corpus; true when every request succeeded and the projections caught up.</summary>
    private async Task<bool> LoadCorpusAsync(SearchCorpusPlan plan, StatementSigner signer, HttpClient control, CancellationToken ct)
    {
        var host = _host!;
        var loader = new SearchLoader(_base, signer, _out);
        _out.WriteLine();
        _out.WriteLine(F($"Loading through the API: signed publishes of every version (small blob inline) and yanks at concurrency {options.LoadConcurrency}, ") +
            F($"then downloads at {DownloadConcurrency}; progress every 10 s. Publisher key {signer.Owner.KeyId}."));
        var total = Stopwatch.StartNew();

        var usage = Usage.Start(host);
        var (publish, yank, packagesDone) = await loader.PublishAsync(plan, options.LoadConcurrency, ct);
        var u = usage.Stop(publish.Seconds);
        _out.WriteLine(F($"  published {publish.Ok:N0}/{plan.Versions:N0} versions of {packagesDone:N0} packages and yanked {yank.Ok:N0}/{plan.Yanks:N0} in {publish.Seconds:0.0} s: ") +
            F($"{(publish.Ok + yank.Ok) / publish.Seconds:N0} requests/s ({publish.Ok / publish.Seconds:N0} publishes/s, {packagesDone / publish.Seconds:N0} packages/s); ") +
            F($"{publish.ErrorSummary()}, yanks {yank.ErrorSummary()}, {publish.Retries + yank.Retries} retries; {u}"));
        foreach (var sample in publish.Samples.Concat(yank.Samples)) _out.WriteLine("    error: " + sample);
        if (host.HasExited) throw new InvalidOperationException("The service exited while the corpus was published.");

        usage = Usage.Start(host);
        var download = await loader.DownloadAsync(plan, DownloadConcurrency, ct);
        u = usage.Stop(download.Seconds);
        _out.WriteLine(F($"  downloaded {download.Ok:N0}/{plan.Downloads:N0} (302) in {download.Seconds:0.0} s: {download.PerSecond:N0}/s; {download.ErrorSummary()}, {download.Retries} retries; {u}"));
        foreach (var sample in download.Samples) _out.WriteLine("    error: " + sample);
        if (host.HasExited) throw new InvalidOperationException("The service exited while the corpus was downloaded.");
        var loadSeconds = total.Elapsed.TotalSeconds;
        _out.WriteLine(F($"  load: {publish.Ok + yank.Ok + download.Ok:N0} requests in {loadSeconds:0} s ({(publish.Ok + yank.Ok + download.Ok) / loadSeconds:N0}/s overall)."));
        _loadFigures.Add(F($"  load: {publish.Ok:N0} publishes + {yank.Ok:N0} yanks at {(publish.Ok + yank.Ok) / publish.Seconds:N0}/s (concurrency {options.LoadConcurrency}), ") +
            F($"{download.Ok:N0} downloads at {download.PerSecond:N0}/s ({DownloadConcurrency}); {loadSeconds:0} s; errors {publish.Errors + yank.Errors + download.Errors}"));

        var caughtUp = await CatchUpAsync(control, plan.Visible, ct);
        var matches = await CheckTopDownloadsAsync(control, plan, ct);
        var complete = caughtUp && matches && publish.Errors == 0 && yank.Errors == 0 && download.Errors == 0;
        if (complete && options.ReuseSchema is { } schema)
        {
            await Database.WriteCorpusMarkerAsync(schema, new Database.CorpusMarker(plan.Packages.Count, SearchCorpusPlan.Seed, plan.MaxDownloads,
                plan.Downloads, plan.Visible, DateTimeOffset.UtcNow, _projections), ct);
            _out.WriteLine($"  recorded the corpus in {schema}.bench_search_corpus: the next run with --reuse-schema {schema} skips loading.");
        }
        _out.WriteLine(F($"  load and catch-up took {total.Elapsed.TotalSeconds:0} s in all."));
        return complete;
    }

    /// <summary>
    /// Polls until <c>GET /v1/search?limit=1</c> counts the visible packages (when known) and every projection in
    /// <c>mt_event_progression</c> has read up to the highest event sequence. Returns false on a timeout.
    /// </summary>
    private async Task<bool> CatchUpAsync(HttpClient control, int? expectedTotal, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan? totalAt = null, progressionAt = null;
        long total = -1, highest = 0;
        IReadOnlyDictionary<string, long> progress = new Dictionary<string, long>();
        var lastPrint = TimeSpan.Zero;
        while (clock.Elapsed < CatchUpTimeout)
        {
            total = await SearchTotalAsync(control, ct);
            if (totalAt is null && (expectedTotal is null ? total >= 0 : total == expectedTotal)) totalAt = clock.Elapsed;
            (highest, progress) = await Database.ProgressionAsync(Schema, ct);
            if (progressionAt is null && progress.Count > 0 && progress.Values.All(p => p >= highest)) progressionAt = clock.Elapsed;
            if (totalAt is not null && progressionAt is not null) break;
            if (clock.Elapsed - lastPrint >= TimeSpan.FromSeconds(10))
            {
                lastPrint = clock.Elapsed;
                _out.WriteLine(F($"  catching up: search total {total:N0}") + (expectedTotal is { } e ? F($"/{e:N0}") : "") +
                    F($"; highest sequence {highest:N0}; ") + string.Join(", ", progress.Select(p => F($"{p.Key} {p.Value:N0}"))) + F($"; {clock.Elapsed.TotalSeconds:0} s"));
            }
            await Task.Delay(200, ct);
        }
        var where = string.Join(", ", progress.Select(p => F($"{p.Key} {p.Value:N0}")));
        if (totalAt is null || progressionAt is null)
        {
            _out.WriteLine(F($"  WARNING: not caught up after {clock.Elapsed.TotalSeconds:0} s: search total {total:N0}") +
                (expectedTotal is { } e ? F($" (expected {e:N0})") : "") + F($", highest sequence {highest:N0}, {where}."));
            return false;
        }
        _out.WriteLine((expectedTotal is { } expected
                ? F($"  caught up: search counts the {expected:N0} visible packages after {totalAt.Value.TotalSeconds:0.0} s")
                : F($"  caught up: search counts {total:N0} packages")) +
            F($"; every projection at the highest sequence ({highest:N0}: {where}) after {progressionAt.Value.TotalSeconds:0.0} s."));
        if (expectedTotal is not null)
            _loadFigures.Add(F($"  catch-up after the load: search total right after {totalAt.Value.TotalSeconds:0.0} s, every projection at the last event after {progressionAt.Value.TotalSeconds:0.0} s"));
        return true;
    }

    private static async Task<long> SearchTotalAsync(HttpClient control, CancellationToken ct)
    {
        try
        {
            using var response = await control.GetAsync(new Uri("/v1/search?limit=1", UriKind.Relative), ct);
            if (response.StatusCode != HttpStatusCode.OK) return -1;
            using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct));
            return json.RootElement.GetProperty("total").GetInt64();
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException && !ct.IsCancellationRequested)
        {
            return -1;
        }
    }

    /// <summary>The 20 most downloaded packages search lists must carry the corpus's counts: every 302 reached the index.</summary>
    private async Task<bool> CheckTopDownloadsAsync(HttpClient control, SearchCorpusPlan plan, CancellationToken ct)
    {
        using var response = await control.GetAsync(new Uri("/v1/search?sort=downloads&limit=20", UriKind.Relative), ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            _out.WriteLine($"  WARNING: GET /v1/search?sort=downloads answered {(int)response.StatusCode}.");
            return false;
        }
        using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct));
        var byName = plan.Packages.ToDictionary(p => p.Name, p => p.Downloads);
        var hits = json.RootElement.GetProperty("hits").EnumerateArray()
            .Select(h => (Name: h.GetProperty("name").GetString()!, Downloads: h.GetProperty("downloads").GetInt64())).ToList();
        var wrong = hits.Where(h => byName.GetValueOrDefault(h.Name, -1) != h.Downloads).ToList();
        if (hits.Count == 0)
        {
            _out.WriteLine("  WARNING: GET /v1/search?sort=downloads lists no package.");
            return false;
        }
        var expectedTop = plan.Packages.Where(p => p.Shown is not null).OrderByDescending(p => p.Downloads).Take(3).Select(p => F($"{p.Name} {p.Downloads:N0}"));
        _out.WriteLine(wrong.Count == 0
            ? F($"  download totals in search match the corpus for the top {hits.Count} by downloads ({string.Join(", ", expectedTop)}, …).")
            : F($"  WARNING: {wrong.Count} of the top {hits.Count} by downloads differ from the corpus, e.g. {wrong[0].Name}: search {wrong[0].Downloads:N0}, corpus {byName.GetValueOrDefault(wrong[0].Name, -1):N0}."));
        return wrong.Count == 0;
    }

    private async Task MeasureQueriesAsync(SearchCorpusPlan plan, string phase, CancellationToken ct)
    {
        var cases = SearchQuerySet.Build(plan.Packages, options.SearchQueries);
        var workload = new SearchWorkload(cases, phase);
        _out.WriteLine();
        _out.WriteLine($"[{phase}] {(phase == "search" ? "PostgreSQL adapter" : "embedded index")}, {_base}");
        _out.WriteLine(F($"Queries: {cases.Count} fixed queries (seed {SearchQuerySet.Seed}): ") +
            string.Join(", ", SearchQuerySet.Kinds.Select(k => F($"{cases.Count(c => c.Kind == k.Kind)} {k.Kind}"))) + ". For example:");
        foreach (var example in SearchQuerySet.Kinds.Select(k => cases.FirstOrDefault(c => c.Kind == k.Kind)).OfType<SearchCase>())
            _out.WriteLine($"  {example.Kind,-12} {example.Path}");
        _out.WriteLine(F($"Each run: {options.WarmupSeconds:0.#} s warm-up, then {options.Seconds:0.#} s measured, cycling through the set; ") +
            "every answer must be 200 with total, hits and facets (badbody otherwise).");
        _out.WriteLine();
        _out.WriteLine(Report.RunLine(Report.RunHeaders));

        // Per concurrency: each measured run's answers, for the per-kind figures and the slowest queries.
        var answers = new Dictionary<int, List<(RunResult Run, IReadOnlyList<(int Case, int Status, long Ticks)> Answers)>>();
        foreach (var concurrency in options.SearchConcurrency)
        {
            var runs = answers[concurrency] = [];
            await MeasureAsync(workload, concurrency, ct, result => runs.Add((result, workload.TakeRun())));
        }

        // Per kind: medians over the runs of each run's percentiles, as the summary does for the whole set.
        _out.WriteLine();
        _out.WriteLine(options.Repeat > 1 ? $"Search latency per query kind (ms; medians over {options.Repeat} runs; max of all runs; errors summed)" : "Search latency per query kind (ms)");
        var headers = new List<string> { "kind", "queries" };
        foreach (var c in options.SearchConcurrency) headers.AddRange([$"p50@{c}", $"p99@{c}", $"max@{c}"]);
        headers.Add("errors");
        var rows = new List<IReadOnlyList<string>>();
        foreach (var kind in SearchQuerySet.Kinds.Select(k => k.Kind).Append("all"))
        {
            var cells = new List<string> { kind, Report.I(cases.Count(c => kind == "all" || c.Kind == kind)) };
            long errors = 0;
            foreach (var c in options.SearchConcurrency)
            {
                var perRun = answers[c].Select(r => KindResult(r.Run, r.Answers, cases, kind)).ToList();
                cells.AddRange([Report.F(Row.Median(perRun.Select(r => r.PercentileMs(50))), 2), Report.F(Row.Median(perRun.Select(r => r.PercentileMs(99))), 2),
                    Report.F(perRun.Count == 0 ? double.NaN : perRun.Max(r => r.MaxMs), 1)]);
                errors += perRun.Sum(r => r.Errors);
            }
            cells.Add(Report.I(errors));
            rows.Add(cells);
        }
        Report.Table(_out, headers, rows);

        // The slowest queries where latency is the query's own (the lowest concurrency, normally 1); the set may
        // hold a query more than once (the two empty-query sorts), which counts as one.
        var lowest = options.SearchConcurrency.Min();
        var executions = answers[lowest].SelectMany(r => r.Answers).GroupBy(a => cases[a.Case].Path)
            .Select(g => (Case: cases[g.First().Case], Count: g.Count(), MedianMs: Row.Median(g.Select(a => a.Ticks * 1000.0 / Stopwatch.Frequency))))
            .OrderByDescending(q => q.MedianMs).Take(5).ToList();
        _slowest.Clear();
        _slowest.Add(F($"The 5 slowest distinct queries at concurrency {lowest} (median ms of their executions over all its runs):"));
        foreach (var q in executions)
            _slowest.Add(F($"  {q.MedianMs,8:0.00} ms  ×{q.Count,-3} {q.Case.Kind,-12} {q.Case.Path}"));
        _out.WriteLine();
        foreach (var line in _slowest) _out.WriteLine(line);
    }

    /// <summary>The answers of one run restricted to one kind ("all": every answer), as a run of their own.</summary>
    private static RunResult KindResult(RunResult run, IReadOnlyList<(int Case, int Status, long Ticks)> answers, IReadOnlyList<SearchCase> cases, string kind)
    {
        var mine = answers.Where(a => kind == "all" || cases[a.Case].Kind == kind).ToList();
        var ticks = mine.Select(a => a.Ticks).Order().ToArray();
        var statuses = mine.GroupBy(a => a.Status).ToDictionary(g => g.Key, g => (long)g.Count());
        return new RunResult(run.Concurrency, run.ElapsedSeconds, ticks, statuses, 200, [], 0);
    }

    private async Task MeasureLagAsync(SearchCorpusPlan plan, StatementSigner signer, CancellationToken ct, string label = "", Uri? publishTo = null)
    {
        var host = _host!;
        var lag = new SearchLag(_base, signer, publishTo);
        var duration = TimeSpan.FromSeconds(options.LagSeconds);
        _out.WriteLine();
        _out.WriteLine($"Publish → searchable: {SearchLag.Describe(options.LagRate, duration)}. Lag: from the publish's 201 to the first");
        _out.WriteLine(publishTo is null
            ? $"Publishes sent to the polled instance ({_base})."
            : $"Publishes sent to the instance running the daemon ({publishTo}); polls and searches to {_base}.");
        _out.WriteLine("GET /v1/packages/{name}/{version} answering searchVisible: true; then GET /v1/search?q={name} must find the package.");
        _out.WriteLine("read p50/p99: publish → readable, from the 201 to the first 200 of that GET (the version document projected).");
        _out.WriteLine($"Packages named like {SearchLag.NameOf($"{_runId}-1", 0)} (lag- and letters hashed from the run and index), manifests taken from the corpus.");
        string[] headers = ["run", "published", "pub/s", "read p50", "read p99", "p50 ms", "p99 ms", "max ms", "unseen", "found", "missed", "poll err", "polls", "srv cpu", "gen cpu", "host cpu", "rss MB"];
        var widths = headers.Select(h => Math.Max(h.Length, 9)).ToArray();
        string Line(IEnumerable<string> cells) => "  " + string.Join("  ", cells.Select((c, i) => c.PadLeft(widths[i])));
        // Unmeasured first, as every other phase: the publish load through an instance just started runs its paths
        // as quickly jitted code (the first run of a fresh instance has shown a p99 of 2 s that the next did not).
        var warmup = FirstWarmup($"lag{label}");
        if (warmup > 0)
        {
            var warm = await lag.RunAsync($"{_runId}{label}-w", plan.Packages, options.LagRate, TimeSpan.FromSeconds(warmup), ct);
            _out.WriteLine(F($"  warm-up (not measured): {warm.Published} publishes over {warmup:0.#} s, p99 {warm.PercentileMs(99):0.0} ms"));
        }
        _out.WriteLine(Line(headers));
        for (var run = 0; run < options.Repeat; run++)
        {
            var usage = Usage.Start(host);
            var result = await lag.RunAsync($"{_runId}{label}-{run + 1}", plan.Packages, options.LagRate, duration, ct);
            ct.ThrowIfCancellationRequested();
            var u = usage.Stop(result.Seconds);
            _lagRuns.Add(result);
            _out.WriteLine(Line([
                $"{run + 1}/{options.Repeat}", $"{result.Published}/{result.Attempted}", Report.F(result.PublishesPerSecond),
                Report.F(result.ReadablePercentileMs(50), 1), Report.F(result.ReadablePercentileMs(99), 1), Report.F(result.PercentileMs(50), 1),
                Report.F(result.PercentileMs(99), 1), Report.F(result.MaxMs, 1), Report.I(result.NeverVisible), Report.I(result.FoundBySearch),
                Report.I(result.MissedBySearch), Report.I(result.PollErrors), Report.I(result.Polls), Report.F(u.ServerCpu, 0) + "%",
                Report.F(u.GeneratorCpu, 0) + "%", Report.F(u.HostCpu, 0) + "%", Report.Mb(u.RssKb)]));
            foreach (var sample in result.Samples) _out.WriteLine("    error: " + sample);
            if (host.HasExited) throw new InvalidOperationException("The service exited during the publish → searchable runs.");
        }
    }

    private void PrintSearchSummary()
    {
        var search = _rows.Where(r => r.Phase == "search" && r.Runs.Count > 0).ToList();
        if (search.Count == 0 && _lagRuns.Count == 0) return;
        _out.WriteLine();
        _out.WriteLine(F($"Search targets (issue 3: PostgreSQL adapter, {_corpusPackages:N0} packages; medians over {options.Repeat} run(s)):"));
        foreach (var line in _loadFigures) _out.WriteLine(line);
        var at1 = search.FirstOrDefault(r => r.Concurrency == 1);
        var at8 = search.FirstOrDefault(r => r.Concurrency == 8);
        string Verdict(bool met) => met ? "met" : "MISSED";
        if (at1 is not null)
        {
            _out.WriteLine(F($"  p50 < 10 ms over the mixed set at concurrency 1:  {at1.MedianP50,8:0.00} ms   {Verdict(at1.MedianP50 < 10 && at1.Errors == 0)}"));
            _out.WriteLine(F($"  p99 < 50 ms over the mixed set at concurrency 1:  {at1.MedianP99,8:0.00} ms   {Verdict(at1.MedianP99 < 50 && at1.Errors == 0)}"));
        }
        if (at8 is not null)
            _out.WriteLine(F($"  ≥ 500 queries/s at concurrency 8:                 {at8.MedianOps,8:0} /s   {Verdict(at8.MedianOps >= 500 && at8.Errors == 0)}"));
        foreach (var row in search.Where(r => r.Concurrency is not (1 or 8)))
            _out.WriteLine(F($"  (concurrency {row.Concurrency}: {row.MedianOps:0} queries/s, p50 {row.MedianP50:0.00} ms, p99 {row.MedianP99:0.00} ms, {row.Errors} errors)"));
        if (_lagRuns.Count > 0)
        {
            var p50 = Row.Median(_lagRuns.Select(r => r.PercentileMs(50)));
            var p99 = Row.Median(_lagRuns.Select(r => r.PercentileMs(99)));
            var errors = _lagRuns.Sum(r => r.Errors);
            _out.WriteLine(F($"  publish → searchable p99 < 1 s:                   {p99,8:0.0} ms   {Verdict(p99 < MaxLagP99Ms && errors == 0)}") +
                F($"  (p50 {p50:0.0} ms, max {_lagRuns.Max(r => r.MaxMs):0.0} ms, {errors} errors)"));
        }
        foreach (var line in _slowest) _out.WriteLine(line);

        var embedded = _rows.Where(r => r.Phase == "search-embedded" && r.Runs.Count > 0).ToList();
        if (embedded.Count == 0) return;
        _out.WriteLine();
        _out.WriteLine(F($"Embedded index targets (issue 12, {_corpusPackages:N0} packages, the same query set; medians over {options.Repeat} run(s)):"));
        var e1 = embedded.FirstOrDefault(r => r.Concurrency == 1);
        var e8 = embedded.FirstOrDefault(r => r.Concurrency == 8);
        if (e1 is not null)
            _out.WriteLine(F($"  p50 < 2 ms over the mixed set at concurrency 1:   {e1.MedianP50,8:0.00} ms   {Verdict(e1.MedianP50 < 2 && e1.Errors == 0)}"));
        if (e8 is not null)
        {
            _out.WriteLine(F($"  p99 < 20 ms at concurrency 8:                    {e8.MedianP99,8:0.00} ms   {Verdict(e8.MedianP99 < 20 && e8.Errors == 0)}"));
            _out.WriteLine(F($"  ≥ 1,000 queries/s at concurrency 8:              {e8.MedianOps,8:0} /s   {Verdict(e8.MedianOps >= 1000 && e8.Errors == 0)}"));
        }
        foreach (var row in _rows.Where(r => r.Phase is "suggest" or "suggest-embedded" && r.Runs.Count > 0))
            _out.WriteLine(F($"  {row.Phase}@{row.Concurrency}: p50 {row.MedianP50:0.00} ms, p99 {row.MedianP99:0.00} ms, {row.MedianOps:0} /s, {row.Errors} errors") +
                (row.Phase == "suggest-embedded" ? F($"   p99 < 5 ms {Verdict(row.MedianP99 < 5 && row.Errors == 0)}") : ""));
        foreach (var line in _embeddedFigures) _out.WriteLine(line);
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>The service's and this process's CPU, the machine's, and the service's peak RSS over a stretch of the run.</summary>
    private sealed class Usage
    {
        private readonly ServiceHost _host;
        private readonly TimeSpan _serverCpu;
        private readonly TimeSpan _generatorCpu;
        private readonly (long Busy, long Total) _hostCpu;

        private Usage(ServiceHost host)
        {
            _host = host;
            host.TakeWindow();
            _serverCpu = host.CpuTime();
            _generatorCpu = Process.GetCurrentProcess().TotalProcessorTime;
            _hostCpu = Report.HostCpu();
        }

        public static Usage Start(ServiceHost host) => new(host);

        public Figures Stop(double seconds)
        {
            var wall = TimeSpan.FromSeconds(Math.Max(seconds, 1e-3));
            var memory = _host.TakeWindow();
            return new Figures(100 * (_host.CpuTime() - _serverCpu) / wall, 100 * (Process.GetCurrentProcess().TotalProcessorTime - _generatorCpu) / wall,
                Report.HostBusyPercent(_hostCpu, Report.HostCpu()), memory.RssKb);
        }

        public sealed record Figures(double ServerCpu, double GeneratorCpu, double HostCpu, long RssKb)
        {
            public override string ToString() =>
                $"srv cpu {Report.F(ServerCpu, 0)}%, gen cpu {Report.F(GeneratorCpu, 0)}%, host cpu {Report.F(HostCpu, 0)}%, rss {Report.Mb(RssKb)} MB";
        }
    }
}
