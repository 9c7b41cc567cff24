using Marketplace.Functions.Search.Embedded;
using Marketplace.Functions.Search.Postgres;
using Marketplace.Functions.Search.Typesense;

namespace Marketplace.Functions.Search;

public static class SearchServices
{
    public static IServiceCollection AddSearch(this IServiceCollection services, IConfiguration configuration)
    {
        var (options, adapter) = SearchOptions.From(configuration, Infrastructure.StoreSettings.In(services, configuration));
        services.AddSingleton(options);
        return adapter switch
        {
            SearchAdapter.Typesense => services.AddTypesenseSearch(configuration),
            SearchAdapter.Embedded => services.AddEmbeddedSearch(),
            _ => services.AddSingleton<IPackageSearch, PostgresSearch>(),
        };
    }
}
