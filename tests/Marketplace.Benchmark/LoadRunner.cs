using System.Diagnostics;

namespace Marketplace.Benchmark;

/// <summary>What one phase sends: requests are prepared outside the timed part; the answer is reported back.</summary>
internal interface IWorkload
{
    string Phase { get; }
    int ExpectedStatus { get; }

    /// <summary>Builds the next request of a worker (signing, hashing and serialising happen here, untimed).</summary>
    HttpRequestMessage Create(int worker);

    /// <summary>The status of the request <paramref name="worker"/> made last; 0 when no HTTP answer came.</summary>
    void Completed(int worker, int status);

    /// <summary>
    /// Sees the answer of the worker's last request before <see cref="Completed"/>, untimed: its latency and the
    /// response with its body read (null when no answer came). False marks an answer with the expected status as
    /// wrong (<see cref="LoadRunner.BadBody"/>), an error.
    /// </summary>
    bool Answered(int worker, HttpResponseMessage? response, long latencyTicks) => true;
}

/// <summary>One timed run: the latencies of every request (sorted), the statuses seen, and a few error samples.</summary>
internal sealed class RunResult(int concurrency, double elapsedSeconds, long[] sortedLatencyTicks, IReadOnlyDictionary<int, long> statuses, int expected, IReadOnlyList<string> errorSamples, long responseBytes)
{
    public int Concurrency { get; } = concurrency;
    public double ElapsedSeconds { get; } = elapsedSeconds;
    public IReadOnlyDictionary<int, long> Statuses { get; } = statuses;
    public IReadOnlyList<string> ErrorSamples { get; } = errorSamples;
    public long Requests => sortedLatencyTicks.LongLength;
    public long Ok => Statuses.GetValueOrDefault(expected);
    public long Errors => Requests - Ok;
    public double OpsPerSecond => Ok / ElapsedSeconds;

    /// <summary>Mean size of the response bodies received.</summary>
    public double MeanResponseBytes => Requests == 0 ? 0 : (double)responseBytes / Requests;

    /// <summary>Nearest-rank percentile in milliseconds.</summary>
    public double PercentileMs(double p)
    {
        if (sortedLatencyTicks.Length == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100 * sortedLatencyTicks.Length);
        return Ms(sortedLatencyTicks[Math.Clamp(rank - 1, 0, sortedLatencyTicks.Length - 1)]);
    }

    public double MaxMs => sortedLatencyTicks.Length == 0 ? double.NaN : Ms(sortedLatencyTicks[^1]);

    /// <summary>e.g. "201×5120 500×3 noanswer×1 badbody×2".</summary>
    public string StatusSummary() =>
        string.Join(' ', Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key switch
        {
            0 => "noanswer",
            LoadRunner.BadBody => "badbody",
            _ => s.Key.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }}×{s.Value}"));

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>
/// The load generator: N workers on one <see cref="HttpClient"/>, each sending one request after another until the
/// deadline, recording every latency. A request in flight at the deadline is awaited, never cancelled, so every
/// request the service answered is accounted for.
/// </summary>
internal static class LoadRunner
{
    /// <summary>The status recorded for an answer with the expected status whose body the workload refused.</summary>
    public const int BadBody = -1;

    public static HttpClient CreateClient(Uri baseAddress, int concurrency) =>
        new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency,
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };

    public static async Task<RunResult> RunAsync(HttpClient client, IWorkload workload, int concurrency, TimeSpan duration, CancellationToken ct)
    {
        var workers = new Worker[concurrency];
        for (var i = 0; i < concurrency; i++) workers[i] = new Worker(i, workload);
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(workers.Select(w => Task.Run(() => w.RunAsync(client, deadline, ct), ct)));
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;

        var latencies = new long[workers.Sum(w => w.Count)];
        var offset = 0;
        var statuses = new Dictionary<int, long>();
        var samples = new List<string>();
        foreach (var w in workers)
        {
            Array.Copy(w.Latencies, 0, latencies, offset, w.Count);
            offset += w.Count;
            foreach (var (status, count) in w.Statuses)
                statuses[status] = statuses.GetValueOrDefault(status) + count;
            foreach (var s in w.ErrorSamples)
                if (samples.Count < 5 && !samples.Contains(s)) samples.Add(s);
        }
        Array.Sort(latencies);
        return new RunResult(concurrency, elapsed, latencies, statuses, workload.ExpectedStatus, samples, workers.Sum(w => w.ResponseBytes));
    }

    private sealed class Worker(int index, IWorkload workload)
    {
        public long[] Latencies { get; private set; } = new long[4096];
        public int Count { get; private set; }
        public Dictionary<int, long> Statuses { get; } = [];
        public List<string> ErrorSamples { get; } = [];
        public long ResponseBytes { get; private set; }

        public async Task RunAsync(HttpClient client, long deadline, CancellationToken ct)
        {
            while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested)
            {
                using var request = workload.Create(index);
                int status;
                string? error = null;
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    // The body is read completely inside SendAsync (ResponseContentRead), so it is timed.
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, CancellationToken.None);
                    var t1 = Stopwatch.GetTimestamp();
                    status = (int)response.StatusCode;
                    Record(t1 - t0);
                    ResponseBytes += response.Content.Headers.ContentLength ?? 0;
                    var accepted = workload.Answered(index, response, t1 - t0);
                    if (status == workload.ExpectedStatus && !accepted)
                    {
                        status = BadBody;
                        if (ErrorSamples.Count < 3)
                            error = $"unexpected body {request.Method} {request.RequestUri}: {Truncate(await response.Content.ReadAsStringAsync(CancellationToken.None), 400)}";
                    }
                    else if (status != workload.ExpectedStatus && ErrorSamples.Count < 3)
                    {
                        var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                        error = $"{status} {request.Method} {request.RequestUri}: {Truncate(body, 400)}";
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    var ticks = Stopwatch.GetTimestamp() - t0;
                    Record(ticks);
                    workload.Answered(index, null, ticks);
                    status = 0;
                    error = $"no answer {request.Method} {request.RequestUri}: {e.GetType().Name}: {e.Message}";
                }
                Statuses[status] = Statuses.GetValueOrDefault(status) + 1;
                if (error is not null && ErrorSamples.Count < 3) ErrorSamples.Add(error);
                workload.Completed(index, status);
            }
        }

        private void Record(long ticks)
        {
            if (Count == Latencies.Length)
            {
                var bigger = new long[Latencies.Length * 2];
                Array.Copy(Latencies, bigger, Count);
                Latencies = bigger;
            }
            Latencies[Count++] = ticks;
        }

        private static string Truncate(string s, int max) =>
            (s.Length <= max ? s : s[..max] + "…").ReplaceLineEndings(" ");
    }
}
