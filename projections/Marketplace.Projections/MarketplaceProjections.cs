using JasperFx.Events.Projections;
using Marketplace.Projections.Dependents;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Packages;
using Marketplace.Projections.Search;
using Marketplace.Projections.Webhooks;
using Marketplace.Webhooks;
using Marten;

namespace Marketplace.Projections;

public static class MarketplaceProjections
{
    /// <summary>
    /// The read models this library holds: the inline decider snapshots (packages, webhook subscriptions), the async
    /// documents, and the PostgreSQL search documents unless another search adapter (Typesense) is in use. The store
    /// registers them, with the projections, subscriptions and tables of the app, through the app's one
    /// <c>AddMarketplaceProjections</c> (functions/Marketplace.Functions/Infrastructure/StoreProjections.cs).
    /// </summary>
    public static StoreOptions AddReadModels(this StoreOptions options, bool postgresSearch = true)
    {
        options.Projections.Add<PackageStateProjection>(ProjectionLifecycle.Inline);
        options.Projections.Add<WebhookStateProjection>(ProjectionLifecycle.Inline);
        options.Schema.For<WebhookState>().Index(s => s.KeyId);
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
