using System.Globalization;
using System.Text;
using Marketplace.Client.Http;
using Marketplace.Client.Trust;

namespace Marketplace.Client;

/// <summary>
/// The registry's API as typed calls: every endpoint of API.md and of its additions in docs/api.md. Failures the registry
/// answers come back as <see cref="MarketplaceApiException"/> carrying the problem's code; 429 and 503 are retried after
/// <c>Retry-After</c>; every call takes a cancellation token. Signing, log verification and installing build on it.
/// </summary>
public sealed partial class MarketplaceClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _base;
    private RegistryInfo? _registryInfo;

    public MarketplaceClient(MarketplaceClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        var root = options.Registry.ToString();
        _base = new Uri(root.EndsWith('/') ? root : root + "/", UriKind.Absolute);
        var primary = options.PrimaryHandler ?? new SocketsHttpHandler
        {
            // Downloads follow the registry's 302 themselves: the redirect is part of what is checked and reported.
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        };
        _http = new HttpClient(RetryPipeline.Create(options, primary), disposeHandler: true)
        {
            // Calls are bounded by RequestTimeout; blob transfers only by cancellation.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(options.UserAgent);
        Log = new TransparencyLogVerifier(this, options.TrustStore, options.TimeProvider, options.LogInclusionWait);
    }

    public static MarketplaceClientBuilder CreateBuilder() => new();

    public MarketplaceClientOptions Options { get; }

    /// <summary>The registry's base URL.</summary>
    public Uri Registry => _base;

    /// <summary>Checkpoints, inclusion and consistency proofs, checked against the pinned registry key.</summary>
    public TransparencyLogVerifier Log { get; }

    public void Dispose() => _http.Dispose();

    // ---- registry ----

    /// <summary><c>GET /.well-known/marketplace</c>; kept for the client's lifetime (limits and keys do not change under a process).</summary>
    public async Task<RegistryInfo> GetRegistryInfoAsync(CancellationToken cancellationToken = default) =>
        _registryInfo ??= await GetJsonAsync<RegistryInfo>(".well-known/marketplace", cancellationToken);

    /// <summary><c>GET /health/live</c> (<paramref name="ready"/> false) or <c>GET /health/ready</c>.</summary>
    public async Task<HealthReport> GetHealthAsync(bool ready = true, CancellationToken cancellationToken = default)
    {
        using var timeout = Bound(cancellationToken);
        using var request = Request(HttpMethod.Get, ready ? "health/ready" : "health/live", idempotent: true);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(timeout.Token);
        return new HealthReport(response.IsSuccessStatusCode, (int)response.StatusCode, body);
    }

    /// <summary><c>GET /metrics</c>: Prometheus text.</summary>
    public Task<string> GetMetricsAsync(CancellationToken cancellationToken = default) => GetTextAsync("metrics", cancellationToken);

    /// <summary><c>GET /openapi/v1.json</c>: the API as OpenAPI.</summary>
    public Task<string> GetOpenApiDocumentAsync(CancellationToken cancellationToken = default) => GetTextAsync("openapi/v1.json", cancellationToken);

    // ---- reads ----

    public Task<PackageInfo> GetPackageAsync(string name, CancellationToken cancellationToken = default) =>
        GetJsonAsync<PackageInfo>($"v1/packages/{Segment(name)}", cancellationToken);

    public Task<VersionInfo> GetVersionAsync(string name, string version, CancellationToken cancellationToken = default) =>
        GetJsonAsync<VersionInfo>($"v1/packages/{Segment(name)}/{Segment(version)}", cancellationToken);

    public Task<OwnersInfo> GetOwnersAsync(string name, CancellationToken cancellationToken = default) =>
        GetJsonAsync<OwnersInfo>($"v1/packages/{Segment(name)}/owners", cancellationToken);

    /// <summary><c>GET /v1/packages/{name}/downloads?days=</c>: the total and one count per UTC day.</summary>
    public Task<DownloadStats> GetDownloadsAsync(string name, int days = 30, CancellationToken cancellationToken = default) =>
        GetJsonAsync<DownloadStats>($"v1/packages/{Segment(name)}/downloads?days={days.ToString(CultureInfo.InvariantCulture)}", cancellationToken);

    public Task<Marketplace.Search.SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var query = new StringBuilder("v1/search?q=").Append(Uri.EscapeDataString(request.Query ?? ""));
        void Add(string key, string? value)
        {
            if (value is not null) query.Append('&').Append(key).Append('=').Append(Uri.EscapeDataString(value));
        }
        Add("category", request.Category);
        Add("keyword", request.Keyword);
        Add("author", request.Author);
        Add("license", request.License);
        Add("minDownloads", request.MinDownloads?.ToString(CultureInfo.InvariantCulture));
        Add("sort", request.Sort);
        Add("limit", request.Limit?.ToString(CultureInfo.InvariantCulture));
        Add("offset", request.Offset?.ToString(CultureInfo.InvariantCulture));
        return GetJsonAsync<Marketplace.Search.SearchResult>(query.ToString(), cancellationToken);
    }

    // ---- audit feed ----

    /// <summary><c>GET /v1/events?after=&amp;limit=</c>: one page of the feed, each line kept as served.</summary>
    public async Task<EventPage> GetEventsAsync(long after = 0, int? limit = null, CancellationToken cancellationToken = default)
    {
        var path = $"v1/events?after={after.ToString(CultureInfo.InvariantCulture)}" +
                   (limit is { } l ? $"&limit={l.ToString(CultureInfo.InvariantCulture)}" : "");
        using var timeout = Bound(cancellationToken);
        using var request = Request(HttpMethod.Get, path, idempotent: true);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout, cancellationToken);
        await EnsureSuccessAsync(response, timeout.Token);
        var events = await ReadLinesAsync(response, timeout.Token);
        return new EventPage(events, after, Header(response, "X-Last-Sequence") ?? after, Header(response, "X-High-Water-Mark") ?? 0);
    }

    /// <summary><c>GET /v1/packages/{name}/events</c>: the package's history (owners, publishes, yanks), each line a log leaf.</summary>
    public async Task<IReadOnlyList<RegistryEvent>> GetPackageEventsAsync(string name, CancellationToken cancellationToken = default)
    {
        using var timeout = Bound(cancellationToken);
        using var request = Request(HttpMethod.Get, $"v1/packages/{Segment(name)}/events", idempotent: true);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout, cancellationToken);
        await EnsureSuccessAsync(response, timeout.Token);
        return await ReadLinesAsync(response, timeout.Token);
    }

    // ---- transparency log (raw; Log verifies) ----

    public Task<CheckpointResponse> GetCheckpointAsync(CancellationToken cancellationToken = default) =>
        GetJsonAsync<CheckpointResponse>("v1/log/checkpoint", cancellationToken);

    public Task<LogLeafInfo> GetLogLeafAsync(long index, CancellationToken cancellationToken = default) =>
        GetJsonAsync<LogLeafInfo>($"v1/log/leaves/{index.ToString(CultureInfo.InvariantCulture)}", cancellationToken);

    /// <summary>The inclusion proof of a leaf, by exactly one of <paramref name="index"/> and <paramref name="sequence"/>.</summary>
    public Task<InclusionProofInfo> GetInclusionProofAsync(long? index = null, long? sequence = null, long? treeSize = null,
        CancellationToken cancellationToken = default)
    {
        if ((index is null) == (sequence is null))
            throw new ArgumentException("Give exactly one of index and sequence.");
        var path = index is { } i
            ? $"v1/log/proof/inclusion?index={i.ToString(CultureInfo.InvariantCulture)}"
            : $"v1/log/proof/inclusion?sequence={sequence!.Value.ToString(CultureInfo.InvariantCulture)}";
        if (treeSize is { } size) path += $"&treeSize={size.ToString(CultureInfo.InvariantCulture)}";
        return GetJsonAsync<InclusionProofInfo>(path, cancellationToken);
    }

    public Task<ConsistencyProofInfo> GetConsistencyProofAsync(long from, long? to = null, CancellationToken cancellationToken = default) =>
        GetJsonAsync<ConsistencyProofInfo>($"v1/log/proof/consistency?from={from.ToString(CultureInfo.InvariantCulture)}" +
            (to is { } t ? $"&to={t.ToString(CultureInfo.InvariantCulture)}" : ""), cancellationToken);
}
