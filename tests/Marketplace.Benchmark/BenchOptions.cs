using System.Globalization;
using Marketplace.Testing;

namespace Marketplace.Benchmark;

/// <summary>Command-line options, parsed by hand. <see cref="Parse"/> throws <see cref="ArgumentException"/> on bad input.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        Marketplace benchmark: starts the service (Release) as a child process and measures publish, metadata GET
        and download throughput and latency with an in-process load generator; '--phase search' loads a generated
        corpus and measures search instead.

          dotnet run -c Release --project tests/Marketplace.Benchmark -- [options]
          dotnet run -c Release --project tests/Marketplace.Benchmark -- --phase search --reuse-schema search_100k

          --seconds S                 measured seconds per run (default 10)
          --warmup S                  warm-up seconds before every measured run (default 2)
          --first-warmup S            warm-up before the first run of each phase (and peer side) instead (default 15): a
                                      service just started runs its hot paths as quickly jitted code for many seconds
                                      under load, a long-running one does not
          --repeat N                  repeat every phase/concurrency N times; medians are reported (default 1)
          --phase P                   publish | get | download | all (default all) | search (not part of all: it
                                      loads --search-packages packages first, minutes for 100,000) | pages (not
                                      part of all: package and version web pages over the published set)
          --concurrency a,b,...       concurrencies for every phase
          --concurrency-publish a,b   default 1,16
          --concurrency-get a,b       default 1,32
          --concurrency-download a,b  default 1,64
          --concurrency-search a,b,c  default 1,8,32
          --concurrency-pages a,b     default 8
          --no-read-cache             the service keeps no read model or page in memory (Reads:CacheFor 0)
          --versions-per-package K    publishes per package before a worker starts a new one (default 10)
          --port P                    port for the service on 127.0.0.1 (default 5090)
          --no-build                  do not run 'dotnet build -c Release' on Marketplace.Functions first
          --keep-schema               keep the run's PostgreSQL schema (dropped after a clean run by default)
          --service-env KEY=VALUE     an extra setting for the service (repeatable; e.g. Marten__Daemon=Disabled)
          --phase index               the embedded search index alone, in this process (no service, no database):
                                      loads --search-packages of the corpus and runs the search phase's query set
                                      and suggest prefixes one at a time for --seconds; CPU per query by kind
          --phase peer                side by side with a peer registry, interleaved (ours, peer, ours, peer): publish
                                      at 8 and 16 (default; --concurrency-publish), metadata GET at 32, download at 64
                                      (redirect not followed), search at 8; prints each figure with its ratio.
                                      infra/bench-peer installs and starts Verdaccio and calls this.
          --peer-url URL              the peer: a Verdaccio (npm protocol) at URL; a user is created through the npm
                                      protocol (PUT /-/user/org.couchdb.user:NAME) and its token publishes
          --peer-pid PID              the peer's process, for its CPU and memory (optional)
          --baseline DIR              the peer: another checkout of this repository (e.g. the previous commit),
                                      built and started on --port + 1 with its own schema and blob folder
          --shapes a,b                the peer phase's shapes, of publish, get, download, search, lag (default all; the
                                      reads need publishes: with publish left out they are skipped). lag: ours only,
                                      publish → readable and → searchable (--peer-lag-rate new packages per second
                                      for --seconds, polled every 50 ms) while our download load (its highest
                                      concurrency), then our publish load, runs (a --baseline's too)
          --peer-lag-rate R           publishes of new packages per second of the peer phase's lag shape (default 20)
          --blob-bytes N              blob size of the peer phase's publishes, both sides (default 10240)
          --read-packages N           packages the peer phase's reads spread over, per side (default 1000)
          --help                      this text

        Search phase (--phase search):
          --search-packages N         packages of SearchCorpus.Generate(N, seed 42) to load (default 100000)
          --search-downloads D        download budget: the corpus's Zipf counts are scaled so that they add up to
                                      at most D downloads, each one a GET …/download (default 300000)
          --search-queries Q          size of the fixed mixed query set (seed fixed; default 200)
          --load-concurrency C        concurrent publishers (and yanks) while loading (default 16; downloads use 64)
          --reuse-schema NAME         use schema NAME and keep it: loads the corpus if NAME is new, skips loading
                                      if NAME already holds the same corpus (same N and download budget)
          --lag-rate R                publishes of new packages per second while measuring publish → searchable (default 50)
          --lag-seconds S             how long that publish load lasts per run (default 20)
          --lag-only                  measure publish → searchable (and → readable) only, no query or suggest runs
        """;

    public double Seconds { get; private set; } = 10;
    public double WarmupSeconds { get; private set; } = 2;
    public double FirstWarmupSeconds { get; private set; } = 15;
    public int Repeat { get; private set; } = 1;
    public int VersionsPerPackage { get; private set; } = 10;
    public string Phase { get; private set; } = "all";
    public int[] PublishConcurrency { get; private set; } = [1, 16];
    public int[] GetConcurrency { get; private set; } = [1, 32];
    public int[] DownloadConcurrency { get; private set; } = [1, 64];
    public int[] SearchConcurrency { get; private set; } = [1, 8, 32];
    public int[] PagesConcurrency { get; private set; } = [8];
    public bool NoReadCache { get; private set; }
    public int SearchPackages { get; private set; } = 100_000;
    public long SearchDownloads { get; private set; } = 300_000;
    public int SearchQueries { get; private set; } = 200;
    public int LoadConcurrency { get; private set; } = 16;
    public string? ReuseSchema { get; private set; }
    public double LagRate { get; private set; } = 50;
    public double LagSeconds { get; private set; } = 20;
    public double PeerLagRate { get; private set; } = 20;
    public bool LagOnly { get; private set; }
    public int Port { get; private set; } = 5090;
    public string? PeerUrl { get; private set; }
    public int? PeerPid { get; private set; }
    public string? Baseline { get; private set; }
    public int BlobBytes { get; private set; } = 10 * 1024;
    public int ReadPackages { get; private set; } = 1000;
    public int[] PeerPublishConcurrency { get; private set; } = [8, 16];
    public int[] PeerGetConcurrency { get; private set; } = [32];
    public int[] PeerDownloadConcurrency { get; private set; } = [64];
    public int[] PeerSearchConcurrency { get; private set; } = [8];
    public IReadOnlySet<string> PeerShapes { get; private set; } = new HashSet<string>(["publish", "get", "download", "search", "lag"]);
    public bool NoBuild { get; private set; }
    public bool KeepSchema { get; private set; }
    public Dictionary<string, string> ServiceEnvironment { get; } = new(StringComparer.Ordinal);
    public bool Help { get; private set; }

    /// <summary>Whether the phase runs: <c>all</c> is publish, get and download; search runs only when asked for.</summary>
    public bool Runs(string phase) => Phase == phase || (Phase == "all" && phase is not ("search" or "pages"));

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        int[]? all = null, publish = null, get = null, download = null, search = null, pages = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value()
            {
                if (i + 1 >= args.Count) throw new ArgumentException($"{arg} needs a value.");
                return args[++i];
            }
            switch (arg)
            {
                case "--seconds": o.Seconds = PositiveDouble(arg, Value()); break;
                case "--warmup": o.WarmupSeconds = NonNegativeDouble(arg, Value()); break;
                case "--first-warmup": o.FirstWarmupSeconds = NonNegativeDouble(arg, Value()); break;
                case "--repeat": o.Repeat = PositiveInt(arg, Value()); break;
                case "--port": o.Port = PositiveInt(arg, Value()); break;
                case "--phase":
                    o.Phase = Value().ToLowerInvariant();
                    if (o.Phase is not ("publish" or "get" or "download" or "all" or "search" or "pages" or "peer" or "index"))
                        throw new ArgumentException("--phase is one of publish, get, download, all, search, pages, peer, index.");
                    break;
                case "--concurrency": all = IntList(arg, Value()); break;
                case "--concurrency-publish": publish = IntList(arg, Value()); break;
                case "--concurrency-get": get = IntList(arg, Value()); break;
                case "--concurrency-download": download = IntList(arg, Value()); break;
                case "--concurrency-search": search = IntList(arg, Value()); break;
                case "--concurrency-pages": pages = IntList(arg, Value()); break;
                case "--no-read-cache": o.NoReadCache = true; break;
                case "--search-packages": o.SearchPackages = PositiveInt(arg, Value()); break;
                case "--search-downloads": o.SearchDownloads = NonNegativeLong(arg, Value()); break;
                case "--search-queries": o.SearchQueries = PositiveInt(arg, Value()); break;
                case "--load-concurrency": o.LoadConcurrency = PositiveInt(arg, Value()); break;
                case "--reuse-schema": o.ReuseSchema = SchemaName(arg, Value()); break;
                case "--lag-rate": o.LagRate = PositiveDouble(arg, Value()); break;
                case "--lag-seconds": o.LagSeconds = PositiveDouble(arg, Value()); break;
                case "--peer-lag-rate": o.PeerLagRate = PositiveDouble(arg, Value()); break;
                case "--lag-only": o.LagOnly = true; break;
                case "--versions-per-package": o.VersionsPerPackage = Math.Max(1, int.Parse(Value(), CultureInfo.InvariantCulture)); break;
                case "--peer-url": o.PeerUrl = Value(); break;
                case "--peer-pid": o.PeerPid = PositiveInt(arg, Value()); break;
                case "--baseline": o.Baseline = Value(); break;
                case "--shapes":
                    var shapes = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
                    if (shapes.Count == 0 || shapes.Any(x => x is not ("publish" or "get" or "download" or "search" or "lag")))
                        throw new ArgumentException("--shapes is a list of publish, get, download, search, lag.");
                    o.PeerShapes = shapes;
                    break;
                case "--blob-bytes": o.BlobBytes = PositiveInt(arg, Value()); break;
                case "--read-packages": o.ReadPackages = PositiveInt(arg, Value()); break;
                case "--no-build": o.NoBuild = true; break;
                case "--keep-schema": o.KeepSchema = true; break;
                case "--service-env":
                    var setting = Value();
                    var equals = setting.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0) throw new ArgumentException($"--service-env needs KEY=VALUE, not '{setting}'.");
                    o.ServiceEnvironment[setting[..equals]] = setting[(equals + 1)..];
                    break;
                case "--help" or "-h": o.Help = true; break;
                default: throw new ArgumentException($"Unknown argument '{arg}'.");
            }
        }
        o.PublishConcurrency = publish ?? all ?? o.PublishConcurrency;
        o.GetConcurrency = get ?? all ?? o.GetConcurrency;
        o.DownloadConcurrency = download ?? all ?? o.DownloadConcurrency;
        o.SearchConcurrency = search ?? all ?? o.SearchConcurrency;
        o.PagesConcurrency = pages ?? all ?? o.PagesConcurrency;
        o.PeerPublishConcurrency = publish ?? all ?? o.PeerPublishConcurrency;
        o.PeerGetConcurrency = get ?? all ?? o.PeerGetConcurrency;
        o.PeerDownloadConcurrency = download ?? all ?? o.PeerDownloadConcurrency;
        o.PeerSearchConcurrency = search ?? all ?? o.PeerSearchConcurrency;
        if (o.Phase == "peer" && (o.PeerUrl is null) == (o.Baseline is null))
            throw new ArgumentException("--phase peer needs exactly one of --peer-url (a Verdaccio) and --baseline (another checkout of this repository).");
        if (o.PeerUrl is not null && !Uri.TryCreate(o.PeerUrl, UriKind.Absolute, out _))
            throw new ArgumentException($"--peer-url needs an absolute URL, not '{o.PeerUrl}'.");
        if (o.SearchPackages < SearchCorpus.Landmarks.Length)
            throw new ArgumentException($"--search-packages is at least {SearchCorpus.Landmarks.Length} (the corpus's landmark packages).");
        if (o.Port > 65535) throw new ArgumentException("--port is at most 65535.");
        return o;
    }

    /// <summary>The same run with every option spelled out.</summary>
    public string Explicit() =>
        string.Create(CultureInfo.InvariantCulture,
            $"--phase {Phase} --seconds {Seconds} --warmup {WarmupSeconds} --first-warmup {FirstWarmupSeconds} --repeat {Repeat} --versions-per-package {VersionsPerPackage} --port {Port} " +
            $"--concurrency-publish {string.Join(',', PublishConcurrency)} --concurrency-get {string.Join(',', GetConcurrency)} " +
            $"--concurrency-download {string.Join(',', DownloadConcurrency)}{(NoBuild ? " --no-build" : "")}{(KeepSchema ? " --keep-schema" : "")}" +
            $"{(Phase == "pages" ? " --concurrency-pages " + string.Join(',', PagesConcurrency) : "")}{(NoReadCache ? " --no-read-cache" : "")}") +
        (Phase == "search" ? SearchOptions() : "") + (Phase == "peer" ? PeerOptions() : "") +
        string.Concat(ServiceEnvironment.Select(e => $" --service-env {e.Key}={e.Value}"));

    private string PeerOptions() =>
        string.Create(CultureInfo.InvariantCulture,
            $" --concurrency-publish {string.Join(',', PeerPublishConcurrency)} --concurrency-get {string.Join(',', PeerGetConcurrency)} " +
            $"--concurrency-download {string.Join(',', PeerDownloadConcurrency)} --concurrency-search {string.Join(',', PeerSearchConcurrency)}" +
            $" --shapes {string.Join(',', PeerShapes.Order())} --peer-lag-rate {PeerLagRate} --blob-bytes {BlobBytes} --read-packages {ReadPackages}{(PeerUrl is null ? "" : " --peer-url " + PeerUrl)}{(Baseline is null ? "" : " --baseline " + Baseline)}");

    private string SearchOptions() =>
        string.Create(CultureInfo.InvariantCulture,
            $" --concurrency-search {string.Join(',', SearchConcurrency)} --search-packages {SearchPackages} --search-downloads {SearchDownloads} " +
            $"--search-queries {SearchQueries} --load-concurrency {LoadConcurrency} --lag-rate {LagRate} --lag-seconds {LagSeconds}" +
            $"{(LagOnly ? " --lag-only" : "")}" +
            $"{(ReuseSchema is null ? "" : " --reuse-schema " + ReuseSchema)}");

    private static double PositiveDouble(string arg, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0
            ? d : throw new ArgumentException($"{arg} needs a positive number, not '{value}'.");

    private static double NonNegativeDouble(string arg, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0
            ? d : throw new ArgumentException($"{arg} needs a number ≥ 0, not '{value}'.");

    private static int PositiveInt(string arg, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n : throw new ArgumentException($"{arg} needs a positive integer, not '{value}'.");

    private static long NonNegativeLong(string arg, string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n : throw new ArgumentException($"{arg} needs an integer ≥ 0, not '{value}'.");

    // The name goes into SQL unquoted by the service (Marten) and quoted by the benchmark: plain identifiers only.
    private static string SchemaName(string arg, string value) =>
        value.Length is > 0 and <= 63 && value[0] is >= 'a' and <= 'z' or '_' && value.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_')
            ? value : throw new ArgumentException($"{arg} needs a lowercase PostgreSQL identifier (a-z, 0-9, _), not '{value}'.");

    private static int[] IntList(string arg, string value)
    {
        var list = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => PositiveInt(arg, v)).ToArray();
        return list.Length > 0 ? list : throw new ArgumentException($"{arg} needs a comma-separated list such as 1,16.");
    }
}
