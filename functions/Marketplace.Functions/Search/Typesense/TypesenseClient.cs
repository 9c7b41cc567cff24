using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Marketplace.Functions.Search.Typesense;

/// <summary>
/// A typed <see cref="HttpClient"/> over Typesense's REST API: every call carries <c>X-TYPESENSE-API-KEY</c>, is
/// retried on 408/429/5xx, timeouts and refused connections (Polly: exponential backoff with jitter, honouring
/// <c>Retry-After</c>), and any other non-2xx answer becomes a <see cref="TypesenseException"/> with Typesense's
/// <c>message</c>.
/// </summary>
public sealed class TypesenseClient
{
    public const string ApiKeyHeader = "X-TYPESENSE-API-KEY";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _http;
    private readonly TypesenseApiKey _key;
    private readonly ResiliencePipeline<HttpResponseMessage> _calls;
    private readonly ResiliencePipeline<HttpResponseMessage> _imports;

    public TypesenseClient(HttpClient http, IOptions<TypesenseOptions> options, TypesenseApiKey key, ILogger<TypesenseClient> logger)
    {
        var o = options.Value;
        _http = http;
        _http.BaseAddress = o.BaseUri;
        // Polly bounds each attempt; HttpClient's own timeout would surface as a cancellation instead.
        _http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        _key = key;
        _calls = Pipeline(o, o.Timeout, logger);
        _imports = Pipeline(o, o.ImportTimeout, logger);
    }

    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary><c>GET /health</c>: <c>{"ok":true}</c> when the node serves; 503 <c>{"ok":false}</c> when it does not.</summary>
    public async Task<TypesenseHealth> HealthAsync(CancellationToken ct)
    {
        using var response = await SendAsync(_calls, () => new HttpRequestMessage(HttpMethod.Get, "health"), "GET /health", ct);
        if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable)
        {
            try
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
                var root = json.RootElement;
                return new TypesenseHealth(
                    root.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True,
                    root.TryGetProperty("resource_error", out var error) ? error.GetString() : null);
            }
            catch (JsonException)
            {
                // Not Typesense's answer (a proxy page): reported below like any other.
            }
        }
        throw await FailureAsync(response, "GET /health", ct);
    }

    public async Task CreateCollectionAsync(TypesenseCollectionSchema schema, CancellationToken ct)
    {
        using var response = await SendAsync(_calls, () => new HttpRequestMessage(HttpMethod.Post, "collections")
        {
            Content = JsonContent(schema),
        }, "POST /collections", ct);
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, $"POST /collections ({schema.Name})", ct);
    }

    /// <summary>The collection, or null when there is none of that name.</summary>
    public async Task<TypesenseCollection?> GetCollectionAsync(string name, CancellationToken ct)
    {
        using var response = await SendAsync(_calls,
            () => new HttpRequestMessage(HttpMethod.Get, $"collections/{Segment(name)}"), $"GET /collections/{name}", ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, $"GET /collections/{name}", ct);
        return await response.Content.ReadFromJsonAsync<TypesenseCollection>(Json, ct);
    }

    /// <summary>Drops a collection; false when there was none.</summary>
    public async Task<bool> DeleteCollectionAsync(string name, CancellationToken ct)
    {
        using var response = await SendAsync(_calls,
            () => new HttpRequestMessage(HttpMethod.Delete, $"collections/{Segment(name)}"), $"DELETE /collections/{name}", ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, $"DELETE /collections/{name}", ct);
        return true;
    }

    /// <summary>
    /// <c>POST /collections/{c}/documents/import?action=upsert</c> with one JSON document per line. Typesense answers
    /// 200 whatever happened to each document; the answer has one result line per document, in order, and every
    /// line is read here: a <c>success:false</c> line is a document that was not stored.
    /// </summary>
    public async Task<IReadOnlyList<TypesenseImportResult>> ImportAsync(string collection, IReadOnlyList<string> documents, CancellationToken ct)
    {
        if (documents.Count == 0) return [];
        var body = string.Join('\n', documents);
        var what = $"POST /collections/{collection}/documents/import";
        using var response = await SendAsync(_imports,
            () => new HttpRequestMessage(HttpMethod.Post, $"collections/{Segment(collection)}/documents/import?action=upsert")
            {
                Content = new StringContent(body, Encoding.UTF8, "text/plain"),
            }, what, ct);
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, what, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        var results = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ImportLine).ToList();
        if (results.Count != documents.Count)
            throw new TypesenseException((int)response.StatusCode, null,
                $"Typesense answered {results.Count} result line(s) to an import of {documents.Count} document(s) into {collection}.");
        return results;
    }

    /// <summary><c>DELETE /collections/{c}/documents?filter_by=id:[…]</c>: idempotent, ids already gone count as done.</summary>
    public async Task<long> DeleteDocumentsAsync(string collection, IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        if (ids.Count == 0) return 0;
        // Ids are normalised package names (ASCII letters, digits, '-'): nothing in them is filter syntax.
        if (ids.Any(id => id.Length == 0 || !id.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-')))
            throw new ArgumentException("Document ids are normalised package names.", nameof(ids));
        var filter = Uri.EscapeDataString($"id:[{string.Join(',', ids)}]");
        var what = $"DELETE /collections/{collection}/documents";
        using var response = await SendAsync(_calls,
            () => new HttpRequestMessage(HttpMethod.Delete, $"collections/{Segment(collection)}/documents?filter_by={filter}"), what, ct);
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, what, ct);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return json.RootElement.TryGetProperty("num_deleted", out var deleted) ? deleted.GetInt64() : 0;
    }

    /// <summary><c>GET /collections/{c}/documents/search</c> with the given parameters (each URL-encoded).</summary>
    public async Task<TypesenseSearchResponse> SearchAsync(
        string collection, IEnumerable<KeyValuePair<string, string>> parameters, CancellationToken ct)
    {
        var query = string.Join('&', parameters.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        var what = $"GET /collections/{collection}/documents/search";
        using var response = await SendAsync(_calls,
            () => new HttpRequestMessage(HttpMethod.Get, $"collections/{Segment(collection)}/documents/search?{query}"), what, ct);
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, what, ct);
        return await response.Content.ReadFromJsonAsync<TypesenseSearchResponse>(Json, ct)
            ?? throw new TypesenseException((int)response.StatusCode, null, $"Typesense answered an empty body to {what}.");
    }

    /// <summary>The collection an alias points to, or null when there is no such alias.</summary>
    public async Task<string?> GetAliasAsync(string alias, CancellationToken ct)
    {
        using var response = await SendAsync(_calls,
            () => new HttpRequestMessage(HttpMethod.Get, $"aliases/{Segment(alias)}"), $"GET /aliases/{alias}", ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, $"GET /aliases/{alias}", ct);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return json.RootElement.GetProperty("collection_name").GetString();
    }

    /// <summary><c>PUT /aliases/{a}</c> <c>{"collection_name":…}</c>: creates the alias or repoints it, atomically for readers.</summary>
    public async Task UpsertAliasAsync(string alias, string collection, CancellationToken ct)
    {
        using var response = await SendAsync(_calls, () => new HttpRequestMessage(HttpMethod.Put, $"aliases/{Segment(alias)}")
        {
            Content = JsonContent(new { collection_name = collection }),
        }, $"PUT /aliases/{alias}", ct);
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, $"PUT /aliases/{alias}", ct);
    }

    private async Task<HttpResponseMessage> SendAsync(
        ResiliencePipeline<HttpResponseMessage> pipeline, Func<HttpRequestMessage> build, string what, CancellationToken ct)
    {
        try
        {
            return await pipeline.ExecuteAsync(async token =>
            {
                // A request message is sent once: each attempt builds its own.
                using var request = build();
                request.Headers.Add(ApiKeyHeader, _key.Value);
                return await _http.SendAsync(request, token);
            }, ct);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException
                                  || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            // Never an OperationCanceledException for a timeout: callers (Marten's daemon among them) read that as "stopping".
            throw new TypesenseException(null, null, $"Typesense at {BaseAddress} did not answer {what}: {e.Message}", e);
        }
    }

    private static ResiliencePipeline<HttpResponseMessage> Pipeline(TypesenseOptions o, TimeSpan timeout, ILogger logger)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (o.Retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = o.Retries,
                Delay = o.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                MaxDelay = TimeSpan.FromSeconds(30),
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutRejectedException>()
                    .HandleResult(r => IsTransient(r.StatusCode)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
                OnRetry = args =>
                {
                    logger.LogWarning("Typesense call failed ({Outcome}); retry {Attempt} in {DelayMs} ms",
                        args.Outcome.Result is { } r ? $"HTTP {(int)r.StatusCode}" : args.Outcome.Exception?.Message,
                        args.AttemptNumber + 1, (int)args.RetryDelay.TotalMilliseconds);
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            });
        }
        return builder.AddTimeout(timeout).Build();
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError
            or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private static TimeSpan? RetryAfter(HttpResponseMessage? response)
    {
        var header = response?.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta <= TimeSpan.FromSeconds(30) ? delta : TimeSpan.FromSeconds(30);
        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait <= TimeSpan.FromSeconds(30) ? wait : TimeSpan.FromSeconds(30);
        }
        return null;
    }

    private static async Task<TypesenseException> FailureAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        string? message = null;
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("message", out var m))
                message = m.GetString();
        }
        catch (JsonException)
        {
            message = body.Length > 300 ? body[..300] : body;
        }
        return new TypesenseException((int)response.StatusCode, message, $"Typesense answered {(int)response.StatusCode} to {what}: {message}");
    }

    private static TypesenseImportResult ImportLine(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var success = root.TryGetProperty("success", out var s) && s.ValueKind == JsonValueKind.True;
            return new TypesenseImportResult(success,
                root.TryGetProperty("error", out var error) ? error.GetString() : null,
                root.TryGetProperty("document", out var document) ? document.ToString() : null);
        }
        catch (JsonException)
        {
            return new TypesenseImportResult(false, $"unreadable result line: {line}", null);
        }
    }

    private static StringContent JsonContent<T>(T value) =>
        new(JsonSerializer.Serialize(value, Json), Encoding.UTF8, "application/json");

    private static string Segment(string name) => Uri.EscapeDataString(name);
}
