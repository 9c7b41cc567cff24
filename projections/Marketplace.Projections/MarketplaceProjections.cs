using JasperFx.Events.Projections;
using Marketplace.Projections.Dependents;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Packages;
using Marketplace.Projections.Search;
using Marten;

namespace Marketplace.Projections;

public static class MarketplaceProjections
{
    /// <summary>
    /// Registers every read model: the inline decider snapshot and the async documents, and the PostgreSQL search
    /// documents unless another search adapter (Typesense) is in use.
    /// </summary>
    public static StoreOptions AddMarketplaceProjections(this StoreOptions options, bool postgresSearch = true)
    {
        options.Projections.Add<PackageStateProjection>(ProjectionLifecycle.Inline);
        options.Projections.Add<PackageDocumentProjection>(ProjectionLifecycle.Async);
        options.Projections.Add<VersionDocumentProjection>(ProjectionLifecycle.Async);
        options.Projections.Add(new DownloadCountsProjection(options.DatabaseSchemaName), ProjectionLifecycle.Async);
        options.Projections.Add<DependenciesProjection>(ProjectionLifecycle.Async);
        // Dependents are found by containment (data @> {LatestDependsOn: [name]}), which this index answers.
        options.Schema.For<DependenciesDocument>().GinIndexJsonData();
        if (postgresSearch)
            options.Projections.Add(new SearchProjection(options.DatabaseSchemaName), ProjectionLifecycle.Async);
        return options;
    }
}
