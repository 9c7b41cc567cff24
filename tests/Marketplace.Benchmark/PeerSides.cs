using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.Benchmark;

/// <summary>
/// One registry of the side-by-side run and how it spells each shape: the same operation (publish a version with a
/// blob, read a package's metadata, download a version, search a word) in its own protocol.
/// </summary>
internal abstract class PeerSide(string label, Uri baseAddress, int pid)
{
    public string Label => label;
    public Uri Base => baseAddress;

    /// <summary>The process answering, for its CPU time and resident memory (0: unknown).</summary>
    public int Pid => pid;

    /// <summary>A publish of one version with its blob, built completely (signed, hashed, serialised) before it is timed.</summary>
    public abstract HttpRequestMessage Publish(string name, string version, string word, byte[] blob);

    public abstract string MetadataPath(string name);
    public abstract string DownloadPath(string name, string version);
    public abstract int DownloadStatus { get; }
    public abstract string SearchPath(string word);

    /// <summary>Whether a search answer found something (every query is a word every package of a tenth of the set carries).</summary>
    public abstract bool Found(JsonElement answer);

    /// <summary>Everything the side needs before the first publish (a user for Verdaccio).</summary>
    public virtual Task PrepareAsync(HttpClient client, CancellationToken ct) => Task.CompletedTask;

    protected static string Description(string word) => $"A {word} package published by the peer benchmark.";
}

/// <summary>This registry: signed publish statements with the blob inline, redirects for downloads.</summary>
internal sealed class MarketplaceSide(string label, Uri baseAddress, int pid, StatementSigner signer) : PeerSide(label, baseAddress, pid)
{
    public override HttpRequestMessage Publish(string name, string version, string word, byte[] blob) =>
        SignedRequests.Publish(signer, name, version,
            new PackageManifest(Description: Description(word), Authors: ["Marketplace benchmark"], License: "MIT", Keywords: [word], Categories: ["benchmark"]),
            blob);

    public override string MetadataPath(string name) => $"/v1/packages/{name}";
    public override string DownloadPath(string name, string version) => $"/v1/packages/{name}/{version}/download";
    public override int DownloadStatus => 302;
    public override string SearchPath(string word) => $"/v1/search?q={word}&limit=20";

    public override bool Found(JsonElement answer) =>
        answer.TryGetProperty("total", out var total) && total.ValueKind == JsonValueKind.Number && total.GetInt64() > 0;
}

/// <summary>
/// Verdaccio through the npm protocol: <c>npm publish</c>'s PUT of a packument with the tarball as a base64
/// attachment (bearer token of a user created through <c>PUT /-/user/org.couchdb.user:NAME</c>), the packument GET,
/// the tarball GET (200 with the bytes: Verdaccio serves them itself) and <c>/-/v1/search</c>.
/// </summary>
internal sealed class VerdaccioSide(Uri baseAddress, int pid, string user) : PeerSide("verdaccio", baseAddress, pid)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private string? _token;

    public override async Task PrepareAsync(HttpClient client, CancellationToken ct)
    {
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var body = new JsonObject { ["name"] = user, ["password"] = password, ["type"] = "user", ["roles"] = new JsonArray() };
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(Base, $"/-/user/org.couchdb.user:{user}"))
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode != HttpStatusCode.Created)
            throw new InvalidOperationException($"Creating the Verdaccio user {user} answered {(int)response.StatusCode}: {text}");
        _token = JsonDocument.Parse(text).RootElement.GetProperty("token").GetString()
            ?? throw new InvalidOperationException("Verdaccio answered the new user without a token.");
    }

    public override HttpRequestMessage Publish(string name, string version, string word, byte[] blob)
    {
        var file = $"{name}-{version}.tgz";
        var packument = new JsonObject
        {
            ["_id"] = name,
            ["name"] = name,
            ["description"] = Description(word),
            ["dist-tags"] = new JsonObject { ["latest"] = version },
            ["versions"] = new JsonObject
            {
                [version] = new JsonObject
                {
                    ["name"] = name,
                    ["version"] = version,
                    ["description"] = Description(word),
                    ["keywords"] = new JsonArray(word),
                    ["license"] = "MIT",
                    ["dist"] = new JsonObject
                    {
                        ["tarball"] = new Uri(Base, $"/{name}/-/{file}").ToString(),
#pragma warning disable CA5350 // npm's packument carries the tarball's SHA-1 (shasum) beside its SHA-512 integrity.
                        ["shasum"] = Convert.ToHexStringLower(SHA1.HashData(blob)),
#pragma warning restore CA5350
                        ["integrity"] = "sha512-" + Convert.ToBase64String(SHA512.HashData(blob)),
                    },
                },
            },
            ["_attachments"] = new JsonObject
            {
                [file] = new JsonObject
                {
                    ["content_type"] = "application/octet-stream",
                    ["data"] = Convert.ToBase64String(blob),
                    ["length"] = blob.Length,
                },
            },
        };
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(packument));
        content.Headers.ContentType = Json;
        var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"/{name}", UriKind.Relative)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token ?? throw new InvalidOperationException("PrepareAsync first."));
        return request;
    }

    public override string MetadataPath(string name) => $"/{name}";
    public override string DownloadPath(string name, string version) => $"/{name}/-/{name}-{version}.tgz";
    public override int DownloadStatus => 200;
    public override string SearchPath(string word) => $"/-/v1/search?text={word}&size=20";

    public override bool Found(JsonElement answer) =>
        answer.TryGetProperty("objects", out var objects) && objects.ValueKind == JsonValueKind.Array && objects.GetArrayLength() > 0;
}

/// <summary>
/// Publishes from requests built before the run: worker w publishes ten versions to a package, then moves to the
/// next, every package carrying one word of <see cref="Words"/> (what search looks for). A worker whose prepared
/// requests run out builds the next one itself, counted in <see cref="BuiltLate"/>.
/// </summary>
internal sealed class PeerPublishWorkload : IWorkload
{
    public static readonly string[] Words = ["alpha", "bravo", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper"];
    private const int VersionsPerPackage = 10;

    private readonly PeerSide _side;
    private readonly string _tag;
    private readonly int _blobBytes;
    private readonly ConcurrentQueue<(Published Target, HttpRequestMessage Request)>[] _prepared;
    private readonly int[] _next;
    private readonly Published?[] _inFlight;
    private long _builtLate;

    public PeerPublishWorkload(PeerSide side, string tag, int concurrency, int blobBytes, int prepare)
    {
        _side = side;
        _tag = tag;
        _blobBytes = blobBytes;
        _next = new int[concurrency];
        _inFlight = new Published?[concurrency];
        _prepared = new ConcurrentQueue<(Published, HttpRequestMessage)>[concurrency];
        for (var w = 0; w < concurrency; w++) _prepared[w] = new();
        for (var i = 0; i < prepare; i++)
        {
            var w = i % concurrency;
            _prepared[w].Enqueue(Build(w));
        }
    }

    public string Phase => "publish";
    public int ExpectedStatus => 201;
    public ConcurrentQueue<Published> Published { get; } = new();
    public long BuiltLate => Interlocked.Read(ref _builtLate);

    private (Published, HttpRequestMessage) Build(int worker)
    {
        var n = _next[worker]++;
        var package = n / VersionsPerPackage;
        var word = Words[(worker + package) % Words.Length];
        var target = new Published($"{word}-{_tag}-{worker}-{package}", string.Create(CultureInfo.InvariantCulture, $"1.0.{n % VersionsPerPackage}"));
        return (target, _side.Publish(target.Name, target.Version, word, RandomNumberGenerator.GetBytes(_blobBytes)));
    }

    public HttpRequestMessage Create(int worker)
    {
        if (!_prepared[worker].TryDequeue(out var next))
        {
            Interlocked.Increment(ref _builtLate);
            next = Build(worker);
        }
        _inFlight[worker] = next.Target;
        return next.Request;
    }

    public void Completed(int worker, int status)
    {
        if (status == ExpectedStatus && _inFlight[worker] is { } done) Published.Enqueue(done);
    }

    /// <summary>Disposes the requests not sent.</summary>
    public void Discard()
    {
        foreach (var queue in _prepared)
            while (queue.TryDequeue(out var left)) left.Request.Dispose();
    }
}

/// <summary>GETs of paths picked by <paramref name="next"/>, expecting one status; <paramref name="check"/> sees the JSON answer.</summary>
internal sealed class PathWorkload(string phase, int expected, Func<string> next, Func<JsonElement, bool>? check = null) : IWorkload
{
    private long _answered;

    public string Phase => phase;
    public int ExpectedStatus => expected;

    /// <summary>Answers with the expected status over the workload's life, warm-ups included.</summary>
    public long Answered200 => Interlocked.Read(ref _answered);

    public HttpRequestMessage Create(int worker) => new(HttpMethod.Get, new Uri(next(), UriKind.Relative));

    public bool Answered(int worker, HttpResponseMessage? response, long latencyTicks)
    {
        if (check is null || response is null || (int)response.StatusCode != expected) return true;
        try
        {
            // The load runner read the body into memory: this parses it, no I/O.
            using var json = JsonDocument.Parse(response.Content.ReadAsStream());
            return check(json.RootElement);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public void Completed(int worker, int status)
    {
        if (status == expected) Interlocked.Increment(ref _answered);
    }
}

/// <summary>CPU time and resident memory of a process from /proc (Linux), sampled while a run lasts.</summary>
internal sealed class ProcessProbe(int pid)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ: 100 on Linux.

    public TimeSpan Cpu()
    {
        if (pid <= 0) return TimeSpan.Zero;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which may hold spaces, so split after its closing parenthesis).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    public long RssKb()
    {
        if (pid <= 0) return 0;
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
