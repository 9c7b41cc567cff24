using Marketplace.Downloads;
using Marketplace.Functions.Events;
using Marketplace.Packages;
using Marketplace.Tests.Transparency;
using Marketplace.TrustedPublishing;
using Marketplace.Webhooks;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace Marketplace.Tests.Events;

/// <summary>
/// The one declaration of the registry's event types: what the transparency log takes as leaves and what each type
/// is called on the wire are pinned here, so moving a declaration can change neither a leaf nor a feed line.
/// </summary>
public sealed class EventCatalogTests
{
    [Fact]
    public void the_log_leaves_are_the_state_changes_they_were_before_the_catalog()
    {
        Type[] leaves =
        [
            typeof(PackagePublished), typeof(VersionYanked), typeof(VersionUnyanked), typeof(OwnerAdded), typeof(OwnerRemoved),
            typeof(TrustedPublisherAdded), typeof(TrustedPublisherRemoved), typeof(TrustedPublishingRequirementSet),
            typeof(PublisherCertificateIssued),
            typeof(WebhookCreated), typeof(WebhookUpdated), typeof(WebhookRemoved), typeof(WebhookDisabled),
        ];
        Assert.Equal(leaves.ToHashSet(), EventCatalog.LogLeaves.ToHashSet());
        Assert.All(leaves, t => Assert.True(EventCatalog.IsLogLeaf(t), t.Name));
        Assert.False(EventCatalog.IsLogLeaf(typeof(Downloaded)));
    }

    [Fact]
    public void every_event_type_keeps_its_cloudevents_type()
    {
        var expected = new Dictionary<Type, string>
        {
            [typeof(PackagePublished)] = "dev.marketplace.package.published",
            [typeof(VersionYanked)] = "dev.marketplace.version.yanked",
            [typeof(VersionUnyanked)] = "dev.marketplace.version.unyanked",
            [typeof(OwnerAdded)] = "dev.marketplace.owner.added",
            [typeof(OwnerRemoved)] = "dev.marketplace.owner.removed",
            [typeof(TrustedPublisherAdded)] = "dev.marketplace.trusted-publisher.added",
            [typeof(TrustedPublisherRemoved)] = "dev.marketplace.trusted-publisher.removed",
            [typeof(TrustedPublishingRequirementSet)] = "dev.marketplace.trusted-publishing.required",
            [typeof(PublisherCertificateIssued)] = "dev.marketplace.publisher-certificate.issued",
            [typeof(Downloaded)] = "dev.marketplace.package.downloaded",
            [typeof(WebhookCreated)] = "dev.marketplace.webhook.created",
            [typeof(WebhookUpdated)] = "dev.marketplace.webhook.updated",
            [typeof(WebhookRemoved)] = "dev.marketplace.webhook.removed",
            [typeof(WebhookDisabled)] = "dev.marketplace.webhook.disabled",
        };
        Assert.Equal(expected, EventCatalog.All.ToDictionary(e => e.EventType, e => e.CloudEventType));
        Assert.Equal(WebhookRules.DownloadedType, RegistryCloudEvents.TypeOf(typeof(Downloaded)));
        Assert.All(expected, kv => Assert.Equal(kv.Key, EventCatalog.FindByCloudEventType(kv.Value)?.EventType));
    }

    [Fact]
    public void each_event_keeps_its_source_subject_and_package_stream()
    {
        var at = new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);
        var subscription = Guid.Parse("0190a3f0-0000-7000-8000-00000000000a");
        var yanked = new VersionYanked("serde-json", "1.0.0", "broken", "ed25519:00", at);
        var removed = new WebhookRemoved(subscription, "ed25519:00", at);
        var downloaded = new Downloaded("serde-json", "1.0.0", new string('a', 64), at);

        Assert.Equal("serde-json", EventCatalog.Find(typeof(VersionYanked))!.Stream(yanked));
        Assert.Equal("/packages/serde-json", EventCatalog.Find(typeof(VersionYanked))!.Source(yanked));
        Assert.Equal("serde-json@1.0.0", EventCatalog.Find(typeof(VersionYanked))!.Subject(yanked));
        Assert.Equal("/webhooks/" + subscription.ToString("D"), EventCatalog.Find(typeof(WebhookRemoved))!.Source(removed));
        Assert.Null(EventCatalog.Find(typeof(WebhookRemoved))!.Subject(removed));
        // The stream a mirror appends a subscription's events to is the one the subscription commands write.
        Assert.Equal("webhook-" + subscription.ToString("D"), EventCatalog.Find(typeof(WebhookRemoved))!.Stream(removed));
        Assert.Null(EventCatalog.Find(typeof(Downloaded))!.Stream(downloaded));
    }

    [Fact]
    public void every_event_record_of_the_domain_is_in_the_catalog()
    {
        var domainEvents = typeof(IPackageEvent).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false }
                && (typeof(IPackageEvent).IsAssignableFrom(t) || typeof(IWebhookEvent).IsAssignableFrom(t) || t == typeof(Downloaded)))
            .ToHashSet();

        Assert.Contains(typeof(PublisherCertificateIssued), domainEvents);
        Assert.Subset(EventCatalog.EventTypes.ToHashSet(), domainEvents);
    }
}

/// <summary>The catalog and the store a host builds name the same event types; the store skips no event.</summary>
[Collection("audit")]
public sealed class EventCatalogStoreTests(AuditFixture fixture)
{
    [Fact]
    public void the_catalog_covers_every_event_type_the_store_registers()
    {
        var store = fixture.Host.Services.GetRequiredService<IDocumentStore>();
        // Marten's own events (stream archived, tombstones and the like) aside: they never reach a feed or the log.
        var registered = store.Options.Events.AllKnownEventTypes().Select(t => t.EventType)
            .Where(t => t.Namespace?.StartsWith("Marketplace", StringComparison.Ordinal) == true)
            .ToHashSet();

        Assert.NotEmpty(registered);
        Assert.Equal(registered, EventCatalog.EventTypes.ToHashSet());
    }

    [Fact]
    public void no_projection_error_is_skipped_while_running_or_rebuilding()
    {
        var projections = ((StoreOptions)fixture.Host.Services.GetRequiredService<IDocumentStore>().Options).Projections;

        Assert.All(new[] { projections.Errors, projections.RebuildErrors }, errors =>
        {
            Assert.False(errors.SkipApplyErrors);
            Assert.False(errors.SkipSerializationErrors);
            Assert.False(errors.SkipUnknownEvents);
        });
    }
}
