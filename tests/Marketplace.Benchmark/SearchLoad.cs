using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Marketplace.Signing;
using Marketplace.Testing;

namespace Marketplace.Benchmark;

/// <summary>
/// The corpus of the search phase: <see cref="SearchCorpus.Generate"/> with a fixed seed, its download counts (a
/// Zipf curve, the landmarks' counts scaled as the search tests scale them) brought under the download budget by
/// choosing <c>maxDownloads</c>, since every download is one request to the service.
/// </summary>
internal sealed record SearchCorpusPlan(IReadOnlyList<CorpusPackage> Packages, long MaxDownloads, long Downloads)
{
    public const int Seed = 42;
    /// <summary>The head the landmarks' download counts are given for (<see cref="SearchCorpus.Landmarks"/>).</summary>
    private const long LandmarkHead = 20_000;

    public int Visible { get; } = Packages.Count(p => p.Shown is not null);
    public int Versions { get; } = Packages.Sum(p => p.Versions.Count);
    public int Yanks { get; } = Packages.Sum(p => p.Versions.Count(v => v.Yanked));

    /// <summary>The version each download of a package fetches: the one search shows, else the newest (yanked versions still download).</summary>
    public static string DownloadedVersion(CorpusPackage p) => (p.Shown ?? p.Versions[^1]).Version;

    public static SearchCorpusPlan Create(int count, long budget)
    {
        // Names, versions and yanks do not depend on maxDownloads, and the counts scale with it (up to rounding down).
        var max = LandmarkHead;
        var corpus = Generate(count, max);
        var total = corpus.Sum(p => p.Downloads);
        if (total == budget) return new SearchCorpusPlan(corpus, max, total);
        max = total == 0 ? 0 : Math.Max(0, (long)(max * (double)budget / total));
        corpus = Generate(count, max);
        total = corpus.Sum(p => p.Downloads);
        while (total > budget && max > 0)
        {
            max = max * 98 / 100;
            corpus = Generate(count, max);
            total = corpus.Sum(p => p.Downloads);
        }
        return new SearchCorpusPlan(corpus, max, total);
    }

    /// <summary>The corpus as a schema was loaded with it (its <c>maxDownloads</c> recorded then).</summary>
    public static SearchCorpusPlan ForMaxDownloads(int count, long max)
    {
        var corpus = Generate(count, max);
        return new SearchCorpusPlan(corpus, max, corpus.Sum(p => p.Downloads));
    }

    private static List<CorpusPackage> Generate(int count, long max) =>
        SearchCorpus.Generate(count, Seed, max)
            .Select(p => SearchCorpus.Landmarks.Any(l => l.Name == p.Name) ? p with { Downloads = p.Downloads * max / LandmarkHead } : p)
            .ToList();
}

/// <summary>What a load stage did: the requests answered as expected, the errors by status, and how long it took.</summary>
internal sealed class LoadStage(string name)
{
    private long _ok;
    private long _retries;
    private readonly ConcurrentDictionary<int, long> _errors = new();
    private readonly ConcurrentQueue<string> _samples = new();

    public string Name { get; } = name;
    public Stopwatch Clock { get; } = Stopwatch.StartNew();
    public long Ok => Interlocked.Read(ref _ok);
    public long Retries => Interlocked.Read(ref _retries);
    public long Errors => _errors.Values.Sum();
    public double Seconds => Clock.Elapsed.TotalSeconds;
    public double PerSecond => Ok / Math.Max(Seconds, 1e-9);
    public IReadOnlyCollection<string> Samples => _samples;

    public void Succeeded() => Interlocked.Increment(ref _ok);

    public void Retried() => Interlocked.Increment(ref _retries);

    public void Failed(int status, string sample)
    {
        _errors.AddOrUpdate(status, 1, (_, n) => n + 1);
        if (_samples.Count < 5) _samples.Enqueue(sample);
    }

    public string ErrorSummary() =>
        Errors == 0 ? "0 errors" : "errors " + string.Join(' ', _errors.OrderBy(e => e.Key).Select(e => $"{(e.Key == 0 ? "noanswer" : e.Key.ToString(CultureInfo.InvariantCulture))}×{e.Value}"));
}

/// <summary>
/// Loads the corpus through the real HTTP API: signed publishes of every version (in order, one package per worker
/// at a time, a small blob inline), signed yanks of the yanked versions, then the downloads. Prints progress every
/// 10 s.
/// </summary>
internal sealed class SearchLoader(Uri baseAddress, StatementSigner signer, TextWriter output)
{
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(10);
    private const int Attempts = 5;

    /// <summary>Publishes every version and yanks the yanked ones; returns the publish and the yank stages.</summary>
    public async Task<(LoadStage Publish, LoadStage Yank, long PackagesDone)> PublishAsync(SearchCorpusPlan plan, int concurrency, CancellationToken ct)
    {
        var packages = plan.Packages;
        var publish = new LoadStage("publish");
        var yank = new LoadStage("yank");
        long next = -1, done = 0;
        using var client = LoadRunner.CreateClient(baseAddress, concurrency);
        using var progress = Progress(() =>
            F($"  loading: {Interlocked.Read(ref done):N0}/{packages.Count:N0} packages, {publish.Ok:N0}/{plan.Versions:N0} versions published ") +
            F($"({publish.PerSecond:N0}/s), {yank.Ok:N0}/{plan.Yanks:N0} yanked, {publish.ErrorSummary()}, {publish.Seconds:0} s"), ct);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < packages.Count && !ct.IsCancellationRequested)
            {
                var p = packages[(int)i];
                foreach (var v in p.Versions)
                {
                    var blob = Encoding.UTF8.GetBytes($"{p.Name}@{v.Version}: a package of the search benchmark's corpus");
                    await SendAsync(client, publish, () => SignedRequests.Publish(signer, p.Name, v.Version, v.Manifest, blob), 201, alreadyDone: 409, retryNoAnswer: true, ct);
                }
                foreach (var v in p.Versions.Where(v => v.Yanked))
                    await SendAsync(client, yank, () => SignedRequests.Yank(signer, p.Name, v.Version, "yanked by the search benchmark's corpus"), 200, alreadyDone: null, retryNoAnswer: true, ct);
                Interlocked.Increment(ref done);
            }
        }, ct)));
        publish.Clock.Stop();
        yank.Clock.Stop();
        ct.ThrowIfCancellationRequested();
        return (publish, yank, done);
    }

    /// <summary>Downloads each package as often as the corpus says, in a shuffled order, expecting 302.</summary>
    public async Task<LoadStage> DownloadAsync(SearchCorpusPlan plan, int concurrency, CancellationToken ct)
    {
        var packages = plan.Packages;
        var order = new int[plan.Downloads];
        var at = 0;
        for (var i = 0; i < packages.Count; i++)
            for (var n = 0L; n < packages[i].Downloads; n++)
                order[at++] = i;
        new Random(SearchCorpusPlan.Seed).Shuffle(order);
        var paths = packages.Select(p => $"/v1/packages/{p.Name}/{SearchCorpusPlan.DownloadedVersion(p)}/download").ToArray();

        var download = new LoadStage("download");
        long next = -1;
        using var client = LoadRunner.CreateClient(baseAddress, concurrency);
        using var progress = Progress(() =>
            F($"  downloading: {download.Ok:N0}/{order.Length:N0} ({download.PerSecond:N0}/s), {download.ErrorSummary()}, {download.Seconds:0} s"), ct);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < order.Length && !ct.IsCancellationRequested)
            {
                var path = paths[order[i]];
                // A download without an answer may have been recorded: not retried, so none is counted twice.
                await SendAsync(client, download, () => new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative)), 302, alreadyDone: null, retryNoAnswer: false, ct);
            }
        }, ct)));
        download.Clock.Stop();
        ct.ThrowIfCancellationRequested();
        return download;
    }

    /// <summary>
    /// Sends until the expected status, retrying 429 and 503 (and, for idempotent requests, no answer) a few times;
    /// <paramref name="alreadyDone"/> on a retry means an earlier attempt without an answer did commit.
    /// </summary>
    private static async Task SendAsync(HttpClient client, LoadStage stage, Func<HttpRequestMessage> create, int expected, int? alreadyDone, bool retryNoAnswer, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = create();
            int status;
            string detail;
            try
            {
                using var response = await client.SendAsync(request, ct);
                status = (int)response.StatusCode;
                if (status == expected || (attempt > 1 && status == alreadyDone))
                {
                    stage.Succeeded();
                    return;
                }
                detail = await response.Content.ReadAsStringAsync(ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                status = 0;
                detail = $"{e.GetType().Name}: {e.Message}";
            }
            var retry = status is 429 or 503 || (status == 0 && retryNoAnswer);
            if (retry && attempt < Attempts)
            {
                stage.Retried();
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct);
                continue;
            }
            stage.Failed(status, $"{(status == 0 ? "no answer" : status.ToString(CultureInfo.InvariantCulture))} {request.Method} {request.RequestUri}: " +
                (detail.Length > 300 ? detail[..300] + "…" : detail).ReplaceLineEndings(" "));
            return;
        }
    }

    /// <summary>Prints the line every 10 s until disposed.</summary>
    private Progress Progress(Func<string> line, CancellationToken ct) => new(output, line, ProgressEvery, ct);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A background printer of a progress line, stopped by disposing it.</summary>
internal sealed class Progress : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task _printer;

    public Progress(TextWriter output, Func<string> line, TimeSpan every, CancellationToken ct)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var token = _stop.Token;
        _printer = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(every);
            try
            {
                while (await timer.WaitForNextTickAsync(token))
                    output.WriteLine(line());
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _printer.Wait();
        _stop.Dispose();
    }
}
