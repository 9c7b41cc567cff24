using Marketplace.Functions.Search.Postgres;
using Marketplace.Functions.Search.Typesense;

namespace Marketplace.Functions.Search;

public static class SearchServices
{
    public static IServiceCollection AddSearch(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection("Search").Get<SearchOptions>() ?? new SearchOptions();
        services.AddSingleton(options);
        return options.Resolve(configuration) switch
        {
            SearchAdapter.Typesense => services.AddTypesenseSearch(configuration),
            _ => services.AddSingleton<IPackageSearch, PostgresSearch>(),
        };
    }
}
