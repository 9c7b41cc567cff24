using JasperFx.Events.Projections;
using Marketplace.Functions.Packages.Reading;
using Marketplace.Functions.Protection;
using Marketplace.Functions.Search;
using Marketplace.Functions.Search.Typesense;
using Marketplace.Functions.Transparency;
using Marketplace.Functions.TrustedPublishing.Exchanging;
using Marketplace.Functions.Webhooks;
using Marketplace.Functions.Webhooks.Delivering;
using Marketplace.Projections;
using Marten;

namespace Marketplace.Functions.Infrastructure;

public static class StoreProjections
{
    /// <summary>
    /// Everything the store derives from the event log or keeps beside it, in one list: the read models of
    /// <c>projections/</c> (the inline decider snapshots, the async documents, the search documents), the transparency
    /// log, the subscriptions with side effects (the webhook outbox; the Typesense feed when Typesense is the search
    /// adapter), the read cache's eviction, the documents written beside events (statement and ID-token receipts,
    /// webhook endpoints and routes) and the tables written by plain SQL (webhook deliveries, chain leases, key slots,
    /// rate-limit counts). A projection error stops the daemon and a rebuild alike: no error is skipped.
    /// </summary>
    public static StoreOptions AddMarketplaceProjections(this StoreOptions o, IServiceProvider services, SearchAdapter search)
    {
        var schema = o.DatabaseSchemaName;
        // The embedded index of each instance is loaded from and tails the PostgreSQL search documents.
        o.AddReadModels(postgresSearch: search is SearchAdapter.Postgres or SearchAdapter.Embedded);
        o.Projections.Add(new TransparencyLogProjection(schema), ProjectionLifecycle.Async);

        o.Projections.Subscribe(services.GetRequiredService<WebhookOutbox>());
        if (search is SearchAdapter.Typesense)
            o.Projections.Subscribe(services.GetRequiredService<TypesenseFeed>());
        // Evicts on its daemon's commits of documents (package commands evict their own writes: ReadCacheInvalidation).
        o.Projections.AsyncListeners.Add(services.GetRequiredService<ReadCacheInvalidation>());

        o.Schema.For<StatementReceipt>();
        o.Schema.For<IdTokenReceipt>();
        o.Schema.For<WebhookEndpoint>();
        o.Schema.For<WebhookRoute>();
        o.Storage.ExtendedSchemaObjects.Add(WebhookDeliveryTable.Define(schema));
        o.Storage.ExtendedSchemaObjects.Add(WebhookDeliveryTable.DefineLeases(schema));
        o.Storage.ExtendedSchemaObjects.Add(WebhookKeySlots.Define(schema));
        o.Storage.ExtendedSchemaObjects.Add(RateLimitReconciler.Define(schema));

        o.Projections.Errors.SkipApplyErrors = false;
        o.Projections.Errors.SkipSerializationErrors = false;
        o.Projections.Errors.SkipUnknownEvents = false;
        // A rebuild stops on the same errors a running daemon stops on (Marten's default too, said here, not assumed).
        o.Projections.RebuildErrors.SkipApplyErrors = false;
        o.Projections.RebuildErrors.SkipSerializationErrors = false;
        o.Projections.RebuildErrors.SkipUnknownEvents = false;
        return o;
    }
}
