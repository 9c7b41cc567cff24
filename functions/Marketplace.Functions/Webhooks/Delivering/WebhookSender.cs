using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Marketplace.Functions.Events;
using Marketplace.Functions.Registry;
using Marketplace.Webhooks;

namespace Marketplace.Functions.Webhooks.Delivering;

/// <summary>What one attempt gave.</summary>
public sealed record AttemptOutcome(DateTimeOffset At, int? Status, double LatencyMs, string? Error, RetryConditionHeaderValue? RetryAfter)
{
    public bool Succeeded => Status is >= 200 and < 300;
    public bool Gone => Status == 410;
}

/// <summary>
/// One HTTP attempt of one delivery: POST of the structured-mode CloudEvent (the exact stored bytes), signed per
/// Standard Webhooks with this attempt's timestamp. Redirects are not followed (a 3xx is a failure), the whole
/// attempt is bounded by <see cref="WebhookOptions.Timeout"/>, and at most <see cref="WebhookOptions.MaxResponseBytes"/>
/// of the answer are read and thrown away. Never throws for the receiver's faults: they are the outcome.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    public const string UserAgent = "Marketplace-Webhooks/1.0";

    private readonly HttpClient _client;
    private readonly WebhookOptions _options;
    private readonly RegistryKey _registryKey;
    private readonly TimeProvider _time;

    public WebhookSender(WebhookConnector connector, WebhookOptions options, RegistryKey registryKey, TimeProvider time)
    {
        _options = options;
        _registryKey = registryKey;
        _time = time;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = options.ConnectTimeout,
            ConnectCallback = connector.ConnectAsync,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxResponseHeadersLength = 64,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        _client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
    }

    /// <summary>For tests: the client deliveries go out with (the SSRF guard included).</summary>
    internal HttpClient Client => _client;

    public async Task<AttemptOutcome> SendAsync(string url, Guid eventId, byte[] body, byte[] secretKey, CancellationToken ct)
    {
        var at = _time.GetUtcNow();
        var timestamp = at.ToUnixTimeSeconds();
        var id = eventId.ToString("D");
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", RegistryCloudEvents.ContentType);
        request.Headers.TryAddWithoutValidation("webhook-id", id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSignature.Header(secretKey, _registryKey.Key, id, timestamp, body));

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.Timeout);
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            await DrainAsync(response, deadline.Token);
            var status = (int)response.StatusCode;
            var latency = Math.Round(clock.Elapsed.TotalMilliseconds, 1);
            string? error = status switch
            {
                >= 200 and < 300 => null,
                >= 300 and < 400 => $"HTTP {status}: redirects are not followed; subscribe the final URL.",
                _ => $"HTTP {status}",
            };
            var retryAfter = status is 429 or 503 ? response.Headers.RetryAfter : null;
            return new AttemptOutcome(at, status, latency, error, retryAfter);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new AttemptOutcome(at, null, Math.Round(clock.Elapsed.TotalMilliseconds, 1),
                $"timed out after {_options.Timeout.TotalSeconds:0.###} s", null);
        }
        catch (HttpRequestException e)
        {
            return new AttemptOutcome(at, null, Math.Round(clock.Elapsed.TotalMilliseconds, 1), Describe(e), null);
        }
    }

    private async Task DrainAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (_options.MaxResponseBytes == 0) return;
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(_options.MaxResponseBytes, 16 * 1024));
        try
        {
            var total = 0;
            int read;
            while (total < _options.MaxResponseBytes
                   && (read = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, _options.MaxResponseBytes - total)), ct)) > 0)
                total += read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Describe(HttpRequestException e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is WebhookAddressRefusedException refused) return refused.Message;
        }
        var message = e.InnerException?.Message is { Length: > 0 } m ? $"{e.Message} ({m})" : e.Message;
        return message.Length > 300 ? message[..300] : message;
    }

    public void Dispose() => _client.Dispose();
}
