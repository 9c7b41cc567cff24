using System.Buffers;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Marketplace.Client.Http;

namespace Marketplace.Client;

/// <summary>
/// The plumbing every endpoint method uses: requests against the base URL, the per-call time bound, sending (retries of
/// 429/503 are the handler's, <see cref="RetryPipeline"/>), JSON in and out, the registry's problem+json read into a
/// <see cref="MarketplaceApiException"/>, and newline-delimited event lines read byte for byte.
/// </summary>
public sealed partial class MarketplaceClient
{
    private const int MaxProblemBytes = 64 * 1024;

    internal static string Segment(string value) => Uri.EscapeDataString(value);

    internal HttpRequestMessage Request(HttpMethod method, string relative, bool idempotent)
    {
        var request = new HttpRequestMessage(method, new Uri(_base, relative));
        request.Options.Set(RetryPipeline.Idempotent, idempotent);
        return request;
    }

    /// <summary>A token that ends at the caller's cancellation or after <see cref="MarketplaceClientOptions.RequestTimeout"/>.</summary>
    internal CancellationTokenSource Bound(CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (Options.RequestTimeout > TimeSpan.Zero && Options.RequestTimeout != Timeout.InfiniteTimeSpan)
            source.CancelAfter(Options.RequestTimeout);
        return source;
    }

    internal async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion,
        CancellationTokenSource? timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, completion, timeout?.Token ?? cancellationToken);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{request.Method} {request.RequestUri} took longer than {Options.RequestTimeout.TotalSeconds:0} s.", e);
        }
    }

    internal async Task<T> GetJsonAsync<T>(string relative, CancellationToken cancellationToken)
    {
        using var timeout = Bound(cancellationToken);
        using var request = Request(HttpMethod.Get, relative, idempotent: true);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout, cancellationToken);
        await EnsureSuccessAsync(response, timeout.Token);
        return await ReadJsonAsync<T>(response, timeout.Token);
    }

    internal async Task<T> SendJsonAsync<T>(HttpMethod method, string relative, object body, CancellationToken cancellationToken)
    {
        using var timeout = Bound(cancellationToken);
        using var request = Request(method, relative, idempotent: false);
        request.Content = JsonContent.Create(body, body.GetType(), options: ClientJson.Options);
        // Buffered, so a retry after 429/503 sends the same bytes again.
        await request.Content.LoadIntoBufferAsync(timeout.Token);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout, cancellationToken);
        await EnsureSuccessAsync(response, timeout.Token);
        return await ReadJsonAsync<T>(response, timeout.Token);
    }

    private async Task<string> GetTextAsync(string relative, CancellationToken cancellationToken)
    {
        using var timeout = Bound(cancellationToken);
        using var request = Request(HttpMethod.Get, relative, idempotent: true);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout, cancellationToken);
        await EnsureSuccessAsync(response, timeout.Token);
        return await response.Content.ReadAsStringAsync(timeout.Token);
    }

    internal static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(ClientJson.Options, cancellationToken)
                   ?? throw new MarketplaceApiException((int)response.StatusCode, "invalid-response", "Empty answer", "The registry answered null.", null, CorrelationOf(response));
        }
        catch (JsonException e)
        {
            throw new MarketplaceApiException((int)response.StatusCode, "invalid-response", "Unexpected answer",
                $"{response.RequestMessage?.RequestUri} did not answer the expected JSON: {e.Message}", null, CorrelationOf(response));
        }
    }

    internal static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode) return;
        throw await ProblemAsync(response, cancellationToken);
    }

    /// <summary>The registry's problem+json as an exception; a body that is not one still gives a code from the status.</summary>
    internal static async Task<MarketplaceApiException> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        string? code = null, title = null, detail = null, type = null;
        var media = response.Content.Headers.ContentType?.MediaType;
        if (media is "application/problem+json" or "application/json")
        {
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                var buffer = new byte[MaxProblemBytes];
                var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
                using var doc = JsonDocument.Parse(buffer.AsMemory(0, read));
                string? Text(string property) =>
                    doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String
                        ? p.GetString() : null;
                code = Text("code");
                title = Text("title");
                detail = Text("detail");
                type = Text("type");
            }
            catch (JsonException)
            {
                // Not a problem document after all: the status speaks for it.
            }
        }
        code ??= status switch
        {
            400 => "invalid-request",
            403 => "forbidden",
            404 => "not-found",
            409 => "conflict",
            413 => "too-large",
            429 => "rate-limited",
            503 => "unavailable",
            504 => "timeout",
            _ => "http-" + status.ToString(CultureInfo.InvariantCulture),
        };
        return new MarketplaceApiException(status, code, title ?? response.ReasonPhrase, detail, type, CorrelationOf(response));
    }

    private static string? CorrelationOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Correlation-Id", out var values) ? values.FirstOrDefault() : null;

    private static long? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value : null;

    /// <summary>Reads newline-delimited lines, keeping each line's exact bytes (the log hashes them, not a re-serialisation).</summary>
    private static async Task<IReadOnlyList<RegistryEvent>> ReadLinesAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var events = new List<RegistryEvent>();
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var chunk = new byte[64 * 1024];
        var pending = new ArrayBufferWriter<byte>();
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            var span = chunk.AsSpan(0, read);
            int newline;
            while ((newline = span.IndexOf((byte)'\n')) >= 0)
            {
                pending.Write(span[..newline]);
                if (pending.WrittenCount > 0)
                    events.Add(ParseLine(pending.WrittenSpan.ToArray()));
                pending.ResetWrittenCount();
                span = span[(newline + 1)..];
            }
            pending.Write(span);
        }
        if (pending.WrittenCount > 0)
            events.Add(ParseLine(pending.WrittenSpan.ToArray()));
        return events;
    }

    private static RegistryEvent ParseLine(byte[] line)
    {
        try
        {
            return RegistryEvent.Parse(line);
        }
        catch (FormatException e)
        {
            throw new MarketplaceApiException(200, "invalid-response", "Unexpected answer", e.Message, null, null);
        }
    }
}
