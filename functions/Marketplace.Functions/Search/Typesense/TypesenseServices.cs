namespace Marketplace.Functions.Search.Typesense;

public static class TypesenseServices
{
    /// <summary>Registers the Typesense adapter: client, <see cref="IPackageSearch"/>, the feed and the startup check.</summary>
    public static IServiceCollection AddTypesenseSearch(this IServiceCollection services, IConfiguration configuration) =>
        throw new NotSupportedException("The Typesense adapter is being written (issue 3).");
}
