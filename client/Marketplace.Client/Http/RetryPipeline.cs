using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Retry;

namespace Marketplace.Client.Http;

/// <summary>
/// Retries through Polly (Microsoft.Extensions.Http.Resilience's handler): a 429 or 503 is the registry saying "later",
/// so any request is retried after its <c>Retry-After</c> (capped), else after an exponential backoff with jitter. A
/// network failure is retried only for requests marked idempotent: a signed statement that reached the registry before
/// the connection broke would come back as <c>replayed-statement</c>.
/// </summary>
internal static class RetryPipeline
{
    public static readonly HttpRequestOptionsKey<bool> Idempotent = new("marketplace.idempotent");

    public static HttpMessageHandler Create(MarketplaceClientOptions options, HttpMessageHandler primary)
    {
        if (options.MaxRetries == 0)
            return primary;
        var retry = new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = options.MaxRetries,
            Delay = options.RetryDelay,
            MaxDelay = options.MaxRetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context.GetRequestMessage())),
            // Retry-After is the registry's own estimate: it wins over the backoff, within MaxRetryDelay.
            DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, options.TimeProvider.GetUtcNow(), options.MaxRetryDelay)),
        };
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>().AddRetry(retry).Build();
        return new ResilienceHandler(pipeline) { InnerHandler = primary };
    }

    internal static bool ShouldRetry(Polly.Outcome<HttpResponseMessage> outcome, HttpRequestMessage? request) =>
        outcome.Result is { } response
            ? response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
            : outcome.Exception is HttpRequestException && request is not null
              && request.Options.TryGetValue(Idempotent, out var idempotent) && idempotent;

    internal static TimeSpan? RetryAfter(HttpResponseMessage? response, DateTimeOffset now, TimeSpan max)
    {
        var header = response?.Headers.RetryAfter;
        TimeSpan? delay = header?.Delta ?? (header?.Date is { } date ? date - now : null);
        if (delay is not { } d) return null;
        return d < TimeSpan.Zero ? TimeSpan.Zero : d > max ? max : d;
    }
}
