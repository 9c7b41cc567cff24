using Marketplace.Functions.TrustedPublishing.Exchanging;
using Marketplace.Functions.TrustedPublishing.Publishers;

namespace Marketplace.Functions.TrustedPublishing;

public static class TrustedPublishingServices
{
    /// <summary>The configured issuers (validated now: a bad issuer fails the start), their key cache and the token receipts.</summary>
    public static IServiceCollection AddTrustedPublishing(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TrustedPublishingOptions.From(configuration));
        services.AddHttpClient(OidcKeys.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() =>
                new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddSingleton<OidcKeys>();
        return services;
    }

    public static IEndpointRouteBuilder MapTrustedPublishing(this IEndpointRouteBuilder app)
    {
        app.MapTrustedPublishers();
        app.MapExchange();
        return app;
    }
}
