using Marketplace.Client.Trust;

namespace Marketplace.Client;

/// <summary>How a <see cref="MarketplaceClient"/> talks to its registry. Build one with <see cref="MarketplaceClientBuilder"/>.</summary>
public sealed class MarketplaceClientOptions
{
    public const string DefaultRegistry = "http://127.0.0.1:5080";

    /// <summary>The registry's base URL.</summary>
    public Uri Registry { get; set; } = new(DefaultRegistry);

    /// <summary>Retries after a 429 or 503 (and, for idempotent requests, a network failure); 0 turns retrying off.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First backoff; it doubles with jitter. A <c>Retry-After</c> from the registry takes precedence.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>No single wait is longer, whatever <c>Retry-After</c> says: a client waiting a minute looks hung.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Bound of one API call (not of blob transfers, which only cancellation ends).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How long to wait for the transparency log to include an event the registry already serves (the log is a projection and lags).</summary>
    public TimeSpan LogInclusionWait { get; set; } = TimeSpan.FromSeconds(30);

    public string UserAgent { get; set; } = "Marketplace.Client/" + typeof(MarketplaceClientOptions).Assembly.GetName().Version?.ToString(3);

    /// <summary>Signs <c>issuedAt</c> of statements; a fake in tests.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the registry key is pinned and the last verified checkpoint kept; in memory unless given a file.</summary>
    public ITrustStore TrustStore { get; set; } = new MemoryTrustStore();

    /// <summary>The innermost handler (a proxy, a test server); redirects must stay off in it: downloads follow them on purpose.</summary>
    public HttpMessageHandler? PrimaryHandler { get; set; }
}
