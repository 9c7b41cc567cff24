using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using Marketplace.Downloads;
using Marketplace.Packages;
using Marketplace.Projections;
using Marten;
using Weasel.Core;

namespace Marketplace.Functions.Infrastructure;

/// <summary>A signed statement that was accepted; its id (SHA-256 of the DSSE PAE) can never be accepted again.</summary>
public sealed record StatementReceipt(string Id, string PayloadType, string Name, string KeyId, DateTimeOffset AcceptedAt);

public static class EventStore
{
    /// <summary>
    /// Marten on PostgreSQL: string stream keys (the normalised package name), correlation/causation/user
    /// metadata on every event, the read models, and the async daemon in-process unless disabled.
    /// </summary>
    public static IServiceCollection AddEventStore(this IServiceCollection services, IConfiguration configuration)
    {
        Serverless.DatabaseConnection.EnsureConfigured(configuration);
        var schema = configuration["Marten:Schema"] ?? "marketplace";
        var daemon = configuration["Marten:Daemon"] ?? "Solo";
        var postgresSearch = Search.SearchOptions.From(configuration).Adapter == Search.SearchAdapter.Postgres;

        var marten = services.AddMarten(sp =>
        {
            var o = new StoreOptions();
            // Resolved when the store is first needed, not at registration: a secret is read once, off the start path.
            o.Connection(Serverless.DatabaseConnection.Resolve(configuration));
            Serverless.StartupTimeline.Mark("marten store");
            o.DatabaseSchemaName = schema;
            o.Events.DatabaseSchemaName = schema;
            o.Events.StreamIdentity = StreamIdentity.AsString;
            // Rich append assigns versions and global sequences before commit: publish answers with its sequence.
            o.Events.AppendMode = configuration.GetValue("Marten:AppendMode", EventAppendMode.Quick);
            o.Events.TimeProvider = sp.GetRequiredService<TimeProvider>();
            // Appends NOTIFY the daemon's high-water agent, which then looks at once instead of at its next poll
            // (250 ms busy, 1 s idle): what keeps publish → searchable well under a second. Polling stays as the fallback.
            o.Events.UseListenNotifyForEventAppends = configuration.GetValue("Marten:ListenNotify", true);
            // The inline PackageState snapshot FetchForWriting loaded is the one the inline projection applies the new
            // events to: without this it is loaded a second time inside SaveChanges (one more round trip per publish).
            // Safe because PackageState is an immutable record nobody mutates outside Marten.
            o.Events.UseIdentityMapForAggregates = true;
            o.Events.MetadataConfig.CorrelationIdEnabled = true;
            o.Events.MetadataConfig.CausationIdEnabled = true;
            o.Events.MetadataConfig.UserNameEnabled = true;
            o.Events.MetadataConfig.HeadersEnabled = true;
            o.Events.AddEventTypes([
                typeof(PackagePublished), typeof(VersionYanked), typeof(VersionUnyanked),
                typeof(OwnerAdded), typeof(OwnerRemoved), typeof(Downloaded),
            ]);
            o.Schema.For<StatementReceipt>();
            o.AddMarketplaceProjections(postgresSearch: postgresSearch);
            o.Projections.Add(new Transparency.TransparencyLogProjection(schema), JasperFx.Events.Projections.ProjectionLifecycle.Async);
            o.Projections.AsyncListeners.Add(sp.GetRequiredService<Packages.Reading.ReadCacheInvalidation>());
            o.Projections.Errors.SkipApplyErrors = false;
            o.Projections.Errors.SkipSerializationErrors = false;
            o.Projections.Errors.SkipUnknownEvents = false;
            o.AutoCreateSchemaObjects = configuration.GetValue("Marten:ApplySchemaOnStartup", true) ? AutoCreate.CreateOrUpdate : AutoCreate.None;
            return o;
        }).UseLightweightSessions();

        if (configuration.GetValue("Marten:ApplySchemaOnStartup", true))
            marten.ApplyAllDatabaseChangesOnStartup();
        if (string.Equals(daemon, "Solo", StringComparison.OrdinalIgnoreCase))
            marten.AddAsyncDaemon(DaemonMode.Solo);
        return services;
    }
}
