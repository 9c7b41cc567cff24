using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Marketplace.Functions.Search.Typesense;

public static class TypesenseServices
{
    /// <summary>Registers the Typesense adapter: client, <see cref="IPackageSearch"/>, the feed and the startup check.</summary>
    public static IServiceCollection AddTypesenseSearch(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TypesenseOptions>().Bind(configuration.GetSection(TypesenseOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TypesenseOptions>, TypesenseOptionsValidation>());
        services.AddSingleton<TypesenseApiKey>();
        // The client lives in singletons (the feed, the search port): pooled connections are recycled by the
        // handler itself instead of by the factory's handler rotation, which a long-lived client would never see.
        services.AddHttpClient<TypesenseClient>()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddSingleton<TypesenseIndexer>();
        services.AddSingleton<TypesenseCollections>();
        services.AddSingleton<TypesenseSearch>();
        services.AddSingleton<IPackageSearch>(sp => sp.GetRequiredService<TypesenseSearch>());
        // A singleton the store subscribes (Infrastructure.StoreProjections), as Marten's AddSubscriptionWithServices would.
        services.AddSingleton<TypesenseFeed>();
        services.AddHostedService<TypesenseStartupCheck>();
        return services;
    }
}
