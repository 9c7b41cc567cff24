using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Marketplace.Signing;
using Marketplace.Testing;

namespace Marketplace.Benchmark;

/// <summary>One run of publish → searchable: what was published, and how long each took to show in search.</summary>
internal sealed class LagResult(int attempted, int published, double seconds, long[] sortedLagTicks, int neverVisible, int foundBySearch,
    int missedBySearch, long pollErrors, long polls, IReadOnlyList<string> samples, long[] sortedReadableTicks)
{
    public int Attempted { get; } = attempted;
    public int Published { get; } = published;
    public double Seconds { get; } = seconds;
    public double PublishesPerSecond => Published / Seconds;
    public int Visible => sortedLagTicks.Length;
    public int NeverVisible { get; } = neverVisible;
    public int FoundBySearch { get; } = foundBySearch;
    public int MissedBySearch { get; } = missedBySearch;
    public long PollErrors { get; } = pollErrors;
    public long Polls { get; } = polls;
    public IReadOnlyList<string> Samples { get; } = samples;
    public long Errors => Attempted - Published + NeverVisible + MissedBySearch + PollErrors;

    public double PercentileMs(double p) => Percentile(sortedLagTicks, p);

    public double MaxMs => PercentileMs(100);

    /// <summary>Publish → readable: from the 201 to the first 200 of the version's GET (its document projected).</summary>
    public double ReadablePercentileMs(double p) => Percentile(sortedReadableTicks, p);

    private static double Percentile(long[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)] * 1000.0 / Stopwatch.Frequency;
    }
}

/// <summary>
/// Publish → searchable under a steady publish load: new packages published at a fixed rate (open loop: on schedule,
/// whatever the answers' latency), and for each the time from its 201 to the first <c>GET
/// /v1/packages/{name}/{version}</c> answering <c>searchVisible: true</c>, polled every 20 ms with a bounded number
/// of polls in flight (the first read of each publish goes out at once, outside that bound). Each visible package is
/// then looked for with <c>GET /v1/search?q={name}</c>.
/// </summary>
/// <remarks>Publishes go to <paramref name="publishAddress"/> (by default the polled instance itself).</remarks>
internal sealed class SearchLag(Uri baseAddress, StatementSigner signer, Uri? publishAddress = null, TimeSpan? pollEvery = null)
{
    public static readonly TimeSpan DefaultPollEvery = TimeSpan.FromMilliseconds(20);
    private readonly TimeSpan _pollEvery = pollEvery ?? DefaultPollEvery;
    public const int PollConcurrency = 16;
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(30);

    public async Task<LagResult> RunAsync(string run, IReadOnlyList<CorpusPackage> manifests, double rate, TimeSpan duration, CancellationToken ct)
    {
        var count = Math.Max(1, (int)Math.Round(rate * duration.TotalSeconds));
        using var publishClient = LoadRunner.CreateClient(publishAddress ?? baseAddress, 16);
        using var pollClient = LoadRunner.CreateClient(baseAddress, PollConcurrency);
        using var polls = new SemaphoreSlim(PollConcurrency);
        var lags = new ConcurrentBag<long>();
        var readable = new ConcurrentBag<long>();
        var samples = new ConcurrentQueue<string>();
        int published = 0, neverVisible = 0, found = 0, missed = 0;
        long pollErrors = 0, pollCount = 0;
        void Sample(string s)
        {
            if (samples.Count < 5) samples.Enqueue(s);
        }

        async Task TrackAsync(int i)
        {
            var name = NameOf(run, i);
            // Realistic text from the corpus, spread over it; the name is the run's own.
            var manifest = manifests[(int)(i * 7919L % manifests.Count)].Versions[^1].Manifest;
            const string version = "1.0.0";
            var blob = Encoding.UTF8.GetBytes($"{name}@{version}: a package of the search benchmark's lag run");
            using (var request = SignedRequests.Publish(signer, name, version, manifest, blob))
            {
                try
                {
                    using var response = await publishClient.SendAsync(request, ct);
                    if (response.StatusCode != HttpStatusCode.Created)
                    {
                        Sample($"publish {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                        return;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    Sample($"publish {name}: no answer: {e.Message}");
                    return;
                }
            }
            var committed = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref published);

            var path = new Uri($"/v1/packages/{name}/{version}", UriKind.Relative);
            var visible = false;
            var read = false;
            var first = true;
            while (!visible && Stopwatch.GetElapsedTime(committed) < GiveUpAfter)
            {
                // The first read goes out at once, as a client reading its own write would (at most one per publish, so
                // bounded by the publish rate); later polls share the bounded slots: a wait for a slot is the
                // generator's, not the service's.
                if (!first) await polls.WaitAsync(ct);
                try
                {
                    Interlocked.Increment(ref pollCount);
                    using var response = await pollClient.GetAsync(path, ct);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        if (!read) readable.Add(Stopwatch.GetTimestamp() - committed);
                        read = true;
                        using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct));
                        visible = json.RootElement.TryGetProperty("searchVisible", out var v) && v.ValueKind == JsonValueKind.True;
                        if (visible) lags.Add(Stopwatch.GetTimestamp() - committed);
                    }
                    else if (response.StatusCode != HttpStatusCode.NotFound)
                    {
                        // 404 is "the version document is not projected yet"; anything else is an error.
                        Interlocked.Increment(ref pollErrors);
                        Sample($"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !ct.IsCancellationRequested)
                {
                    Interlocked.Increment(ref pollErrors);
                    Sample($"GET {path}: {e.GetType().Name}: {e.Message}");
                }
                finally
                {
                    if (!first) polls.Release();
                    first = false;
                }
                if (!visible) await Task.Delay(_pollEvery, ct);
            }
            if (!visible)
            {
                Interlocked.Increment(ref neverVisible);
                Sample($"{name}@{version}: not searchVisible {GiveUpAfter.TotalSeconds:0} s after its 201");
                return;
            }

            // searchVisible says the index applied the publish: search must find the package now.
            var search = new Uri($"/v1/search?q={Uri.EscapeDataString(name)}&limit=5", UriKind.Relative);
            try
            {
                using var response = await pollClient.GetAsync(search, ct);
                var body = await response.Content.ReadAsStringAsync(ct);
                var hit = response.StatusCode == HttpStatusCode.OK
                    && JsonDocument.Parse(body).RootElement.GetProperty("hits").EnumerateArray().Any(h => h.GetProperty("name").GetString() == name);
                if (hit) Interlocked.Increment(ref found);
                else Interlocked.Increment(ref missed);
                if (!hit) Sample($"GET {search} after searchVisible: {(int)response.StatusCode}, {name} not among the hits: {(body.Length > 300 ? body[..300] + "…" : body)}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException && !ct.IsCancellationRequested)
            {
                Interlocked.Increment(ref missed);
                Sample($"GET {search}: {e.GetType().Name}: {e.Message}");
            }
        }

        var tasks = new List<Task>(count);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate) - Stopwatch.GetElapsedTime(start);
            if (due > TimeSpan.Zero) await Task.Delay(due, ct);
            var index = i;
            tasks.Add(Task.Run(() => TrackAsync(index), ct));
        }
        var publishing = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await Task.WhenAll(tasks);
        var sorted = lags.ToArray();
        Array.Sort(sorted);
        var sortedReadable = readable.ToArray();
        Array.Sort(sortedReadable);
        return new LagResult(count, published, Math.Max(publishing, count / rate), sorted, neverVisible, found, missed, pollErrors, pollCount, samples.ToArray(),
            sortedReadable);
    }

    /// <summary>
    /// <c>lag-</c> and 12 letters drawn from a hash of the run and the index. Names sharing the run's id would all be
    /// trigram-similar to each other, so every <c>q={name}</c> check would match, rank and facet every package of the
    /// run: the checks would load the database more with each publish and skew the lag they verify.
    /// </summary>
    public static string NameOf(string run, int i)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{run}/{i}"));
        return "lag-" + string.Concat(hash.Take(12).Select(b => (char)('a' + b % 26)));
    }

    public static string Describe(double rate, TimeSpan duration, TimeSpan? pollEvery = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{rate:0.#} publishes/s of new packages for {duration.TotalSeconds:0.#} s")
        + string.Create(CultureInfo.InvariantCulture, $"; each polled every {(pollEvery ?? DefaultPollEvery).TotalMilliseconds:0} ms (at most {PollConcurrency} polls in flight)");
}
