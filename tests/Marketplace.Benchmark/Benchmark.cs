using System.Diagnostics;
using System.Globalization;
using System.Net;
using Marketplace.Signing;

namespace Marketplace.Benchmark;

/// <summary>One benchmark run: build, start the service, run the phases, check the download count, report, clean up.</summary>
internal sealed partial class Benchmark(BenchOptions options, IReadOnlyList<string> rawArgs)
{
    public const int ExitOk = 0;
    public const int ExitMismatch = 1;
    public const int ExitFailed = 3;

    private const int BlobBytes = 10 * 1024;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan VisibleTimeout = TimeSpan.FromSeconds(120);

    private readonly long _runId = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly List<Row> _rows = [];
    private readonly TextWriter _out = Console.Out;
    private ServiceHost? _host;
    private Dictionary<string, string> _environment = [];
    private string _repo = "";
    private string _logDir = "";
    private long _idleRssKb;
    private Uri _base = null!;

    private string Schema => options.ReuseSchema ?? $"bench_{_runId}";

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var repo = ServiceHost.FindRepoRoot();
        var tempDir = Path.Combine(Path.GetTempPath(), $"marketplace-bench-{_runId}");
        Directory.CreateDirectory(tempDir);
        var blobRoot = BlobRoots.For("ours", _out);
        var logPath = Path.Combine(tempDir, "service.log");
        _base = new Uri($"http://127.0.0.1:{options.Port}");

        _out.WriteLine("Marketplace benchmark");
        foreach (var line in Report.Machine()) _out.WriteLine("  " + line);
        _out.WriteLine($"  load avg:    {Report.LoadAverage()} (at start)");
        _out.WriteLine($"  repository:  {repo}");
        _out.WriteLine($"  run:         {_runId}: schema {Schema}{(options.ReuseSchema is null ? "" : " (reused, kept)")} in database {Database.Name}, blobs in {blobRoot} (kept for the next run)");
        _out.WriteLine($"  options:     {options.Explicit()}");
        _out.WriteLine();

        var exit = ExitOk;
        string? failure = null;
        try
        {
            if (!options.NoBuild)
            {
                _out.WriteLine($"Building {ServiceHost.FunctionsProject} (Release)...");
                var build = Stopwatch.StartNew();
                await ServiceHost.BuildAsync(repo, ct);
                _out.WriteLine($"  built in {build.Elapsed.TotalSeconds:0.0} s");
            }
            if (await Database.EnsureDatabaseAsync(ct))
                _out.WriteLine($"Created database {Database.Name}.");
            if (options.Phase == "search")
                await CheckReusedSchemaAsync(repo, ct);
            ServiceHost.EnsurePortFree(options.Port);

            var environment = new Dictionary<string, string>
            {
                ["ConnectionStrings__Marketplace"] = Database.ConnectionString(),
                ["Marten__Schema"] = Schema,
                ["Blobs__Store"] = "file",
                ["Blobs__File__Root"] = blobRoot,
                ["Logging__LogLevel__Default"] = "Warning",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                // The service that loads the corpus runs the daemon and the PostgreSQL adapter; the search phase
                // then starts a second instance with the embedded index on the same schema (EmbeddedSearchAsync).
                ["Search__Adapter"] = "Postgres",
                // Outside Development the app refuses to start without the registry key.
                ["Registry__SigningKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            };
            _environment = environment;
            _repo = repo;
            _logDir = tempDir;
            if (options.NoReadCache) environment["Reads__CacheFor"] = "00:00:00";
            foreach (var (key, value) in options.ServiceEnvironment) environment[key] = value;
            _host = ServiceHost.Start(repo, options.Port, environment, logPath);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => _host?.Kill();
            _out.WriteLine($"Started the service: pid {_host.Pid}, http://127.0.0.1:{options.Port}, log {logPath}");

            using var control = LoadRunner.CreateClient(_base, 4);
            var ready = await _host.WaitReadyAsync(control, ReadyTimeout, ct);
            var idle = _host.TakeWindow();
            _idleRssKb = idle.RssKb;
            _out.WriteLine($"  ready after {ready.TotalSeconds:0.0} s (schema created on startup); RSS {Report.Mb(idle.RssKb)} MB");
            _out.WriteLine();

            exit = await PhasesAsync(control, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            failure = "cancelled (Ctrl+C or SIGTERM); the interrupted run is not reported.";
            exit = ExitFailed;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            failure = e.Message;
            exit = ExitFailed;
        }
        catch (Exception e)
        {
            failure = e.ToString();
            exit = ExitFailed;
        }
        finally
        {
            if (_host is not null)
            {
                var stillRunning = !_host.HasExited;
                _host.Dispose();
                _out.WriteLine();
                _out.WriteLine(stillRunning ? $"Stopped the service (pid {_host.Pid})." : $"The service (pid {_host.Pid}) had already exited.");
            }
        }

        if (failure is not null)
        {
            _out.WriteLine();
            _out.WriteLine("FAILED: " + failure);
        }
        PrintSummary();
        PrintServiceLog(logPath);

        if (exit == ExitOk && !options.KeepSchema && options.ReuseSchema is null)
        {
            try
            {
                await Database.DropSchemaAsync(Schema, CancellationToken.None);
                _out.WriteLine($"Dropped schema {Schema} (pass --keep-schema to keep it).");
            }
            catch (Npgsql.NpgsqlException e)
            {
                _out.WriteLine($"Could not drop schema {Schema}: {e.Message}");
            }
        }
        else
        {
            _out.WriteLine($"Kept schema {Schema} in database {Database.Name} for inspection.");
        }

        _out.WriteLine();
        _out.WriteLine($"Total time {clock.Elapsed.TotalSeconds:0} s; load avg {Report.LoadAverage()} (at end). Rerun with:");
        _out.WriteLine("  dotnet run -c Release --project tests/Marketplace.Benchmark --" + (rawArgs.Count == 0 ? "" : " " + string.Join(' ', rawArgs.Select(Quote))));
        _out.WriteLine("  (every option spelled out: dotnet run -c Release --project tests/Marketplace.Benchmark -- " + options.Explicit() + ")");
        _out.WriteLine(exit switch { ExitOk => "Exit 0.", ExitMismatch => "Exit 1: MISMATCH of download counts.", _ => "Exit 3: the benchmark failed." });
        return exit;
    }

    private async Task<int> PhasesAsync(HttpClient control, CancellationToken ct)
    {
        using var signer = StatementSigner.Generate();
        if (options.Phase == "search") return await SearchPhaseAsync(control, signer, ct);
        if (options.Phase == "peer") return await PeerPhaseAsync(control, signer, ct);
        var publish = new PublishWorkload(signer, _runId.ToString(CultureInfo.InvariantCulture), BlobBytes, options.VersionsPerPackage);
        _out.WriteLine($"Publisher key {signer.Owner.KeyId}; packages bench-{_runId}-<worker>, versions 1.0.<n>, {BlobBytes / 1024} KB random blob inline.");
        _out.WriteLine($"Each run: {options.WarmupSeconds:0.#} s warm-up ({options.FirstWarmupSeconds:0.#} s before a phase's first run), then " +
            $"{options.Seconds:0.#} s measured; {options.Repeat} run(s) per phase and concurrency.");
        _out.WriteLine("ops/s counts answers with the expected status (201, 200, 302); latencies cover every request; srv/gen/pg cpu: CPU time");
        _out.WriteLine("of the service / this load generator / every postgres process over wall time (100% = one core); host cpu: all");
        _out.WriteLine("cores of the machine busy (100% = every core); µs/op: CPU per answered operation, service + PostgreSQL; rss: highest VmRSS of the service during the run; B/resp: mean body size.");
        _out.WriteLine();
        _out.WriteLine(Report.RunLine(Report.RunHeaders));

        if (options.Runs("publish"))
        {
            foreach (var concurrency in options.PublishConcurrency)
                await MeasureAsync(publish, concurrency, ct);
        }

        if (!options.Runs("get") && !options.Runs("download") && !options.Runs("pages")) return ExitOk;

        if (publish.AllPublished.Count == 0)
        {
            _out.WriteLine("  (nothing published yet: seeding 2 s of publishes at concurrency 16, not reported)");
            using var seeder = LoadRunner.CreateClient(_base, 16);
            var seeded = await LoadRunner.RunAsync(seeder, publish, 16, TimeSpan.FromSeconds(2), ct);
            _out.WriteLine($"  seeded: {seeded.StatusSummary()}");
            if (publish.AllPublished.Count == 0)
                throw new InvalidOperationException("No version could be published, so there is nothing to read or download. " + string.Join(" | ", seeded.ErrorSamples));
        }
        var versions = publish.AllPublished;

        if (options.Runs("get"))
        {
            await WaitVisibleAsync(control, publish, ct);
            var metadata = new MetadataWorkload(versions);
            foreach (var concurrency in options.GetConcurrency)
                await MeasureAsync(metadata, concurrency, ct);
        }

        if (options.Runs("pages"))
        {
            await WaitVisibleAsync(control, publish, ct);
            var pages = new PagesWorkload(versions);
            foreach (var concurrency in options.PagesConcurrency)
                await MeasureAsync(pages, concurrency, ct, _ => _out.WriteLine("    " + pages.TakeServerTimings()));
        }

        if (!options.Runs("download")) return ExitOk;
        var download = new DownloadWorkload(versions);
        foreach (var concurrency in options.DownloadConcurrency)
            await MeasureAsync(download, concurrency, ct);
        return await CheckDownloadsAsync(download, ct);
    }

    private readonly HashSet<string> _warmed = [];

    /// <summary>
    /// Seconds of warm-up before a run: <c>--first-warmup</c> the first time a shape (and side) runs, so the service's
    /// hot methods are past tiered compilation's first tiers before anything is measured, <c>--warmup</c> after.
    /// </summary>
    private double FirstWarmup(string shape) => _warmed.Add(shape) ? Math.Max(options.WarmupSeconds, options.FirstWarmupSeconds) : options.WarmupSeconds;

    /// <summary>Warm-up and measured runs of a workload at one concurrency; <paramref name="measured"/> sees each measured run.</summary>
    private async Task<Row> MeasureAsync(IWorkload workload, int concurrency, CancellationToken ct, Action<RunResult>? measured = null)
    {
        var host = _host!;
        var row = new Row(workload.Phase, concurrency);
        _rows.Add(row);
        using var client = LoadRunner.CreateClient(_base, concurrency);
        for (var run = 0; run < options.Repeat; run++)
        {
            var warmup = FirstWarmup(workload.Phase);
            if (warmup > 0)
            {
                var warm = await LoadRunner.RunAsync(client, workload, concurrency, TimeSpan.FromSeconds(warmup), ct);
                ct.ThrowIfCancellationRequested();
                if (warm.Errors > 0)
                    _out.WriteLine($"  warm-up {workload.Phase}@{concurrency}: {warm.StatusSummary()}; {string.Join(" | ", warm.ErrorSamples)}");
            }
            if (workload is PublishWorkload publish)
                await CreateMissingPackagesAsync(client, publish, concurrency, ct);
            if (workload is SearchWorkload search)
                search.StartRun();
            if (workload is PagesWorkload pages)
                pages.StartRun();

            host.TakeWindow();
            var serverCpu = host.CpuTime();
            var generatorCpu = Process.GetCurrentProcess().TotalProcessorTime;
            var hostCpu = Report.HostCpu();
            var postgresCpu = Report.PostgresCpu();
            var result = await LoadRunner.RunAsync(client, workload, concurrency, TimeSpan.FromSeconds(options.Seconds), ct);
            // A run cut short by Ctrl+C is not a figure.
            ct.ThrowIfCancellationRequested();
            var memory = host.TakeWindow();
            var wall = TimeSpan.FromSeconds(result.ElapsedSeconds);
            row.Runs.Add(result);
            row.ServerCpuPercent.Add(100 * (host.CpuTime() - serverCpu) / wall);
            row.GeneratorCpuPercent.Add(100 * (Process.GetCurrentProcess().TotalProcessorTime - generatorCpu) / wall);
            row.HostBusyPercent.Add(Report.HostBusyPercent(hostCpu, Report.HostCpu()));
            row.PostgresCpuPercent.Add(100 * (Report.PostgresCpu() - postgresCpu) / wall);
            row.RunPeakRssKb.Add(memory.RssKb);

            _out.WriteLine(Report.RunLine(Report.RunCells(row, run, options.Repeat)));
            foreach (var sample in result.ErrorSamples)
                _out.WriteLine("    error: " + sample);
            if (host.HasExited)
                throw new InvalidOperationException($"The service exited during {workload.Phase}@{concurrency}.");
            measured?.Invoke(result);
        }
        return row;
    }

    /// <summary>The warm-up creates each worker's package with its first publish; any it missed is created here, untimed.</summary>
    private async Task CreateMissingPackagesAsync(HttpClient client, PublishWorkload publish, int concurrency, CancellationToken ct)
    {
        for (var worker = 0; worker < concurrency; worker++)
        {
            for (var attempt = 0; attempt < 3 && !publish.Created(worker); attempt++)
            {
                using var request = publish.Create(worker);
                using var response = await client.SendAsync(request, ct);
                publish.Completed(worker, (int)response.StatusCode);
                if (response.StatusCode != HttpStatusCode.Created)
                    _out.WriteLine($"  creating {publish.NameOf(worker)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }
        }
    }

    /// <summary>Read models are async projections: poll until every package and its newest version answer 200.</summary>
    private async Task WaitVisibleAsync(HttpClient control, PublishWorkload publish, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var pending = publish.LatestPerName
            .SelectMany(p => new[] { $"/v1/packages/{p.Name}", $"/v1/packages/{p.Name}/{p.Version}" })
            .ToHashSet();
        var total = pending.Count;
        while (pending.Count > 0 && clock.Elapsed < VisibleTimeout)
        {
            foreach (var path in pending.ToArray())
            {
                using var response = await control.GetAsync(new Uri(path, UriKind.Relative), ct);
                if (response.StatusCode == HttpStatusCode.OK) pending.Remove(path);
            }
            if (pending.Count > 0) await Task.Delay(200, ct);
        }
        _out.WriteLine(pending.Count == 0
            ? $"  read models: all {total} package/newest-version documents answer 200 after {clock.Elapsed.TotalSeconds:0.0} s"
            : $"  WARNING read models: {pending.Count} of {total} documents still not visible after {clock.Elapsed.TotalSeconds:0} s, e.g. {pending.First()}");
    }

    /// <summary>Every 302 must be one committed <c>Downloaded</c> event: compare with PostgreSQL directly.</summary>
    private async Task<int> CheckDownloadsAsync(DownloadWorkload download, CancellationToken ct)
    {
        var counts = await Database.CountEventsByTypeAsync(Schema, ct);
        var type = counts.Keys.FirstOrDefault(t => t == "downloaded")
            ?? counts.Keys.FirstOrDefault(t => t.Contains("downloaded", StringComparison.OrdinalIgnoreCase))
            ?? "downloaded";
        var events = await Database.CountEventsAsync(Schema, type, ct);
        _out.WriteLine();
        _out.WriteLine("Download accounting");
        _out.WriteLine($"  event types in {Schema}.mt_events: {string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}"))}");
        _out.WriteLine($"  302s answered over all download runs, warm-ups included: {download.Redirects}");
        _out.WriteLine($"  '{type}' events in PostgreSQL:                            {events}");
        if (download.NoAnswer > 0)
            _out.WriteLine($"  requests without an HTTP answer (may or may not be recorded): {download.NoAnswer}");
        if (events == download.Redirects)
        {
            _out.WriteLine("  OK: one Downloaded event per 302.");
            return ExitOk;
        }
        _out.WriteLine("  ################################################################");
        _out.WriteLine($"  MISMATCH: {download.Redirects} redirects answered but {events} '{type}' events stored (difference {events - download.Redirects:+#;-#;0}).");
        _out.WriteLine("  ################################################################");
        return ExitMismatch;
    }

    private void PrintSummary()
    {
        if (_rows.Count == 0 || _rows.All(r => r.Runs.Count == 0)) return;
        _out.WriteLine();
        _out.WriteLine(options.Repeat > 1
            ? $"Summary: medians over {options.Repeat} runs (ops/s, p50, p99, cpu); max ms is the highest of all runs, errors their sum"
            : "Summary");
        Report.Table(_out, Report.SummaryHeaders, _rows.Where(r => r.Runs.Count > 0).Select(Report.SummaryCells));
        var overall = _host?.Overall ?? default;
        _out.WriteLine();
        _out.WriteLine($"Service memory: peak VmRSS sampled {Report.Mb(overall.RssKb)} MB, VmHWM {Report.Mb(overall.HwmKb)} MB; peak per phase: " +
            string.Join(", ", _rows.GroupBy(r => r.Phase).Select(g => $"{g.Key} {Report.Mb(g.Max(r => r.PeakRssKb))} MB")));
        PrintSearchSummary();
    }

    private void PrintServiceLog(string logPath)
    {
        if (_host is null) return;
        var tail = _host.LogTail(25);
        var lines = _host.LogLineCount;
        _out.WriteLine();
        _out.WriteLine(lines == 0
            ? $"Service stdout/stderr ({logPath}): empty."
            : $"Service stdout/stderr ({logPath}): {lines} lines; the last {tail.Count}:");
        foreach (var line in tail) _out.WriteLine("  | " + line);
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or ',' or '.' or '/' or '=' or ':') ? arg : $"'{arg.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
