using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.Benchmark;

/// <summary>A version the benchmark published (answered 201).</summary>
internal sealed record Published(string Name, string Version);

/// <summary>
/// Publishes a new version per request with a fresh 10 KB random blob inline, signed by the run's one key. Worker w
/// publishes 1.0.0 … 1.0.(k-1) to <c>bench-&lt;run&gt;-&lt;w&gt;-0</c>, then moves on to <c>…-1</c>, and so on (k is
/// <c>--versions-per-package</c>), so the load mixes new packages (whose first publish makes the key the owner) with
/// new versions of existing ones, as a registry sees it.
/// </summary>
internal sealed class PublishWorkload(StatementSigner signer, string runId, int blobBytes, int versionsPerPackage) : IWorkload
{
    private static readonly PackageManifest Manifest = new(
        Description: "A package published by the Marketplace benchmark.",
        Authors: ["Marketplace benchmark"],
        License: "MIT",
        Keywords: ["bench"],
        Categories: ["benchmark"]);

    private readonly ConcurrentDictionary<int, int> _next = new();
    private readonly ConcurrentDictionary<int, Published> _inFlight = new();
    private readonly ConcurrentDictionary<string, Published> _latestByName = new();
    private readonly ConcurrentQueue<Published> _published = new();

    public string Phase => "publish";
    public int ExpectedStatus => 201;

    private readonly ConcurrentDictionary<int, bool> _createdBy = new();

    /// <summary>The package the worker's next publish goes to.</summary>
    public string NameOf(int worker) => NameOf(worker, _next.GetValueOrDefault(worker, -1) + 1);

    private string NameOf(int worker, int n) => $"bench-{runId}-{worker}-{n / versionsPerPackage}";

    /// <summary>Every version answered 201, in no particular order.</summary>
    public IReadOnlyList<Published> AllPublished => _published.ToArray();

    /// <summary>The newest version answered 201 per package name.</summary>
    public IReadOnlyCollection<Published> LatestPerName => _latestByName.Values.ToArray();

    /// <summary>Whether the package of <paramref name="worker"/> has been created (a publish to it answered 201).</summary>
    public bool Created(int worker) => _createdBy.ContainsKey(worker);

    public HttpRequestMessage Create(int worker)
    {
        // Versions are never reused, even after a failed attempt: a publish that timed out may still have committed.
        var n = _next.AddOrUpdate(worker, 0, (_, v) => v + 1);
        var target = new Published(NameOf(worker, n), string.Create(CultureInfo.InvariantCulture, $"1.0.{n % versionsPerPackage}"));
        _inFlight[worker] = target;

        return SignedRequests.Publish(signer, target.Name, target.Version, Manifest, RandomNumberGenerator.GetBytes(blobBytes));
    }

    public void Completed(int worker, int status)
    {
        if (status != ExpectedStatus || !_inFlight.TryGetValue(worker, out var done)) return;
        _published.Enqueue(done);
        _createdBy[worker] = true;
        _latestByName[done.Name] = done;
    }
}

/// <summary>
/// Metadata reads over the published set: alternately <c>GET /v1/packages/{name}</c> and
/// <c>GET /v1/packages/{name}/{version}</c>, names and versions picked at random.
/// </summary>
internal sealed class MetadataWorkload(IReadOnlyList<Published> versions) : IWorkload
{
    private readonly string[] _names = versions.Select(v => v.Name).Distinct().ToArray();
    private readonly ConcurrentDictionary<int, long> _sent = new();

    public string Phase => "get";
    public int ExpectedStatus => 200;

    public HttpRequestMessage Create(int worker)
    {
        var i = _sent.AddOrUpdate(worker, 0, (_, v) => v + 1);
        string path;
        if (i % 2 == 0)
        {
            path = $"/v1/packages/{_names[Random.Shared.Next(_names.Length)]}";
        }
        else
        {
            var v = versions[Random.Shared.Next(versions.Count)];
            path = $"/v1/packages/{v.Name}/{v.Version}";
        }
        return new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
    }

    public void Completed(int worker, int status)
    {
    }
}

/// <summary>
/// Downloads of published versions at random, expecting 302 (redirects are not followed). Every 302 the service
/// answers is counted, warm-ups included, to be compared with the <c>Downloaded</c> events in PostgreSQL.
/// </summary>
internal sealed class DownloadWorkload(IReadOnlyList<Published> versions) : IWorkload
{
    private long _redirects;
    private long _noAnswer;

    public string Phase => "download";
    public int ExpectedStatus => 302;

    /// <summary>302s answered over the life of this workload (all runs, warm-ups included).</summary>
    public long Redirects => Interlocked.Read(ref _redirects);

    /// <summary>Requests that got no HTTP answer: the service may or may not have recorded them.</summary>
    public long NoAnswer => Interlocked.Read(ref _noAnswer);

    public HttpRequestMessage Create(int worker)
    {
        var v = versions[Random.Shared.Next(versions.Count)];
        return new HttpRequestMessage(HttpMethod.Get, new Uri($"/v1/packages/{v.Name}/{v.Version}/download", UriKind.Relative));
    }

    public void Completed(int worker, int status)
    {
        if (status == ExpectedStatus) Interlocked.Increment(ref _redirects);
        else if (status == 0) Interlocked.Increment(ref _noAnswer);
    }
}

/// <summary>
/// The web pages over the published set: alternately <c>/packages/{name}</c> and <c>/packages/{name}/{version}</c>,
/// as a browser asks (<c>Accept: text/html</c>). Besides the client-side latency it collects the service's own time
/// per page from the <c>Server-Timing: page;dur=…</c> header: read models and rendering, without the network.
/// </summary>
internal sealed class PagesWorkload(IReadOnlyList<Published> versions) : IWorkload
{
    private readonly string[] _names = versions.Select(v => v.Name).Distinct().ToArray();
    private readonly ConcurrentDictionary<int, long> _sent = new();
    private readonly ConcurrentQueue<double> _serverMs = new();

    public string Phase => "pages";
    public int ExpectedStatus => 200;

    public HttpRequestMessage Create(int worker)
    {
        var i = _sent.AddOrUpdate(worker, 0, (_, v) => v + 1);
        var v = versions[Random.Shared.Next(versions.Count)];
        var path = i % 2 == 0 ? $"/packages/{_names[Random.Shared.Next(_names.Length)]}" : $"/packages/{v.Name}/{v.Version}";
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Accept.ParseAdd("text/html");
        return request;
    }

    public bool Answered(int worker, HttpResponseMessage? response, long latencyTicks)
    {
        if (response?.Headers.TryGetValues("Server-Timing", out var values) == true)
        {
            foreach (var value in values)
            {
                var at = value.IndexOf("dur=", StringComparison.Ordinal);
                if (at >= 0 && double.TryParse(value.AsSpan(at + 4), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
                    _serverMs.Enqueue(ms);
            }
        }
        return response is null || response.StatusCode != System.Net.HttpStatusCode.OK
            || response.Content.Headers.ContentType?.MediaType == "text/html";
    }

    public void Completed(int worker, int status)
    {
    }

    /// <summary>Forgets the warm-up's timings: what follows is the measured run.</summary>
    public void StartRun() => _serverMs.Clear();

    /// <summary>Server-side page times of the measured run, as p50/p99/max.</summary>
    public string TakeServerTimings()
    {
        var all = new List<double>();
        while (_serverMs.TryDequeue(out var ms)) all.Add(ms);
        if (all.Count == 0) return "server-side: no Server-Timing header seen";
        all.Sort();
        double P(double p) => all[Math.Clamp((int)Math.Ceiling(p / 100 * all.Count) - 1, 0, all.Count - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"server-side page time over {all.Count} pages: p50 {P(50):0.00} ms, p99 {P(99):0.00} ms, max {all[^1]:0.00} ms");
    }
}
