using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
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
        var settings = StoreSettings.In(services, configuration);
        var schema = settings.Schema;
        var search = Search.SearchOptions.From(configuration, settings).Adapter;

        services.AddSingleton(sp => new AppendWakeup(sp, schema, sp.GetRequiredService<ILogger<AppendWakeup>>())
        {
            MinimumInterval = configuration.GetValue("Marten:WakeupInterval", TimeSpan.FromMilliseconds(50)),
            BusyInterval = configuration.GetValue("Marten:BusyWakeupInterval", TimeSpan.FromMilliseconds(200)),
            BusyCommitRate = configuration.GetValue("Marten:BusyCommitRate", 150.0),
            PackageInterval = configuration.GetValue("Marten:PackageWakeupInterval", TimeSpan.FromMilliseconds(100)),
            NotifiesOthers = settings.Daemon != DaemonMode.Solo,
        });
        var marten = services.AddMarten(sp =>
        {
            var o = new StoreOptions();
            // Resolved when the store is first needed, not at registration: a secret is read once, off the start path.
            o.Connection(Serverless.DatabaseConnection.WithDefaults(Serverless.DatabaseConnection.Resolve(configuration)));
            Serverless.StartupTimeline.Mark("marten store");
            o.DatabaseSchemaName = schema;
            o.Events.DatabaseSchemaName = schema;
            o.Events.StreamIdentity = StreamIdentity.AsString;
            // Rich append assigns versions and global sequences before commit: publish answers with its sequence.
            o.Events.AppendMode = configuration.GetValue("Marten:AppendMode", EventAppendMode.Quick);
            o.Events.TimeProvider = sp.GetRequiredService<TimeProvider>();
            // A commit with events wakes the daemon's high-water agent, which then looks at once instead of at its next
            // poll (250 ms busy, 1 s idle): what keeps publish → searchable well under a second. Not Marten's
            // LISTEN/NOTIFY, whose NOTIFY inside every appending transaction serialises their commits (AppendWakeup).
            o.Events.UseListenNotifyForEventAppends = false;
            if (configuration.GetValue("Marten:ListenNotify", true))
            {
                var wakeup = sp.GetRequiredService<AppendWakeup>();
                o.Listeners.Add(wakeup);
                o.Projections.Wakeup = wakeup;
            }
            // The orphan blob collector looks events up by type (and digest): an index on mt_events.type.
            o.Events.EnableEventTypeIndex = true;
            // The inline PackageState snapshot FetchForWriting loaded is the one the inline projection applies the new
            // events to: without this it is loaded a second time inside SaveChanges (one more round trip per publish).
            // Safe because PackageState is an immutable record nobody mutates outside Marten.
            o.Events.UseIdentityMapForAggregates = true;
            o.Events.MetadataConfig.CorrelationIdEnabled = true;
            o.Events.MetadataConfig.CausationIdEnabled = true;
            o.Events.MetadataConfig.UserNameEnabled = true;
            o.Events.MetadataConfig.HeadersEnabled = true;
            o.Events.AddEventTypes(Events.EventCatalog.EventTypes);
            o.AddMarketplaceProjections(sp, search);
            // HotCold: every projection shard and subscription is a PostgreSQL session advisory lock (ids derived from
            // DaemonLockId); an instance runs what it holds, the others poll for free locks and take over when a
            // holder's session ends (a dead process's connection goes with it). The base id is the schema's, so two
            // registries in one database never contend.
            o.Projections.DaemonLockId = configuration.GetValue<int?>("Marten:DaemonLockId") ?? DaemonLockIdOf(schema);
            if (configuration.GetValue<TimeSpan?>("Marten:LeadershipPollingTime") is { } leadership)
                o.Projections.LeadershipPollingTime = (int)leadership.TotalMilliseconds;
            if (configuration.GetValue<TimeSpan?>("Marten:HealthCheckPollingTime") is { } health)
                o.Projections.HealthCheckPollingTime = health;
            o.AutoCreateSchemaObjects = configuration.GetValue("Marten:ApplySchemaOnStartup", true) ? AutoCreate.CreateOrUpdate : AutoCreate.None;
            return o;
        }).UseLightweightSessions();

        if (configuration.GetValue("Marten:ApplySchemaOnStartup", true))
            marten.ApplyAllDatabaseChangesOnStartup();
        if (settings.DaemonInProcess)
            marten.AddAsyncDaemon(settings.Daemon);
        return services;
    }

    /// <summary>A stable advisory-lock id per schema (FNV-1a of its name, kept positive).</summary>
    public static int DaemonLockIdOf(string schema)
    {
        var hash = 2166136261u;
        foreach (var c in schema.ToLowerInvariant())
            hash = (hash ^ c) * 16777619u;
        return (int)(hash & 0x3fffffff) + 1;
    }
}
