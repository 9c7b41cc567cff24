using Marketplace.Client.Trust;

namespace Marketplace.Client;

/// <summary>Fluent configuration of a <see cref="MarketplaceClient"/>; every setting has a working default.</summary>
public sealed class MarketplaceClientBuilder
{
    private readonly MarketplaceClientOptions _options = new();

    public MarketplaceClientBuilder WithRegistry(Uri registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (!registry.IsAbsoluteUri || registry.Scheme is not ("http" or "https"))
            throw new ArgumentException($"The registry must be an absolute http(s) URL, not '{registry}'.", nameof(registry));
        _options.Registry = registry;
        return this;
    }

    public MarketplaceClientBuilder WithRegistry(string registry) => WithRegistry(new Uri(registry, UriKind.Absolute));

    public MarketplaceClientBuilder WithRetries(int maxRetries, TimeSpan? firstDelay = null, TimeSpan? maxDelay = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetries);
        _options.MaxRetries = maxRetries;
        if (firstDelay is { } d) _options.RetryDelay = d;
        if (maxDelay is { } m) _options.MaxRetryDelay = m;
        return this;
    }

    public MarketplaceClientBuilder WithRequestTimeout(TimeSpan timeout)
    {
        _options.RequestTimeout = timeout;
        return this;
    }

    public MarketplaceClientBuilder WithLogInclusionWait(TimeSpan wait)
    {
        _options.LogInclusionWait = wait;
        return this;
    }

    public MarketplaceClientBuilder WithUserAgent(string userAgent)
    {
        _options.UserAgent = userAgent;
        return this;
    }

    public MarketplaceClientBuilder WithTimeProvider(TimeProvider timeProvider)
    {
        _options.TimeProvider = timeProvider;
        return this;
    }

    public MarketplaceClientBuilder WithTrustStore(ITrustStore trustStore)
    {
        _options.TrustStore = trustStore;
        return this;
    }

    /// <summary>Keeps the pinned registry key and last checkpoint in a JSON file (created owner-only).</summary>
    public MarketplaceClientBuilder WithTrustStoreFile(string path) => WithTrustStore(new FileTrustStore(path));

    public MarketplaceClientBuilder WithPrimaryHandler(HttpMessageHandler handler)
    {
        _options.PrimaryHandler = handler;
        return this;
    }

    public MarketplaceClient Build() => new(_options);
}
