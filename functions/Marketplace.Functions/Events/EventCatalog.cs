using System.Collections.Frozen;
using Marketplace.Downloads;
using Marketplace.Packages;
using Marketplace.TrustedPublishing;
using Marketplace.Webhooks;

namespace Marketplace.Functions.Events;

/// <summary>
/// One event type of the registry: its CloudEvents <c>type</c>, <c>source</c> and <c>subject</c>, the stream a mirror
/// appends it to (null for a download: download streams are arbitrary groups the importer makes), and whether it is a
/// leaf of the transparency log.
/// </summary>
public sealed record CatalogedEvent(
    Type EventType, string CloudEventType, Func<object, string> Source, Func<object, string?> Subject,
    Func<object, string?> Stream, bool IsLogLeaf);

/// <summary>
/// Every event type the registry stores, declared once. Marten registers these types, the audit feed and webhook
/// bodies map them to CloudEvents, the transparency log takes its leaves from those marked so, and
/// <c>events-import</c> reads a feed back through it. Immutable: nothing registers a type at run time, so every
/// host (and the log's leaf set) is the same whatever ran first.
/// </summary>
public static class EventCatalog
{
    public static readonly IReadOnlyList<CatalogedEvent> All =
    [
        Package<PackagePublished>("dev.marketplace.package.published", e => e.Name, e => $"{e.Name}@{e.Version}"),
        Package<VersionYanked>("dev.marketplace.version.yanked", e => e.Name, e => $"{e.Name}@{e.VersionKey}"),
        Package<VersionUnyanked>("dev.marketplace.version.unyanked", e => e.Name, e => $"{e.Name}@{e.VersionKey}"),
        Package<OwnerAdded>("dev.marketplace.owner.added", e => e.Name, e => e.KeyId),
        Package<OwnerRemoved>("dev.marketplace.owner.removed", e => e.Name, e => e.KeyId),
        Package<TrustedPublisherAdded>("dev.marketplace.trusted-publisher.added", e => e.Name, e => e.Repository),
        Package<TrustedPublisherRemoved>("dev.marketplace.trusted-publisher.removed", e => e.Name, e => e.Repository),
        Package<TrustedPublishingRequirementSet>("dev.marketplace.trusted-publishing.required", e => e.Name, _ => null),
        Package<PublisherCertificateIssued>("dev.marketplace.publisher-certificate.issued", e => e.Name, e => e.KeyId),
        // Downloads are in the feed and go to webhooks, but are not leaves: the log records state changes only.
        Of<Downloaded>("dev.marketplace.package.downloaded", e => "/packages/" + e.Name, e => $"{e.Name}@{e.VersionKey}",
            stream: _ => null, isLogLeaf: false),
        Webhook<WebhookCreated>("dev.marketplace.webhook.created"),
        Webhook<WebhookUpdated>("dev.marketplace.webhook.updated"),
        Webhook<WebhookRemoved>("dev.marketplace.webhook.removed"),
        Webhook<WebhookDisabled>("dev.marketplace.webhook.disabled"),
    ];

    private static readonly FrozenDictionary<Type, CatalogedEvent> ByType = All.ToFrozenDictionary(e => e.EventType);
    private static readonly FrozenDictionary<string, CatalogedEvent> ByCloudEventType =
        All.ToFrozenDictionary(e => e.CloudEventType, StringComparer.Ordinal);

    /// <summary>The .NET types, for Marten to register.</summary>
    public static readonly IReadOnlyList<Type> EventTypes = [.. All.Select(e => e.EventType)];

    /// <summary>The types whose events are leaves of the transparency log.</summary>
    public static readonly FrozenSet<Type> LogLeaves = All.Where(e => e.IsLogLeaf).Select(e => e.EventType).ToFrozenSet();

    public static CatalogedEvent? Find(Type eventType) => ByType.GetValueOrDefault(eventType);

    public static CatalogedEvent? FindByCloudEventType(string cloudEventType) => ByCloudEventType.GetValueOrDefault(cloudEventType);

    public static bool IsLogLeaf(Type eventType) => LogLeaves.Contains(eventType);

    private static CatalogedEvent Of<T>(string type, Func<T, string> source, Func<T, string?> subject, Func<T, string?> stream, bool isLogLeaf) =>
        new(typeof(T), type, e => source((T)e), e => subject((T)e), e => stream((T)e), isLogLeaf);

    /// <summary>A package-stream event: source <c>/packages/{name}</c>, stream the name.</summary>
    private static CatalogedEvent Package<T>(string type, Func<T, string> name, Func<T, string?> subject) =>
        Of(type, e => "/packages/" + name(e), subject, stream: name, isLogLeaf: true);

    /// <summary>
    /// A subscription event: source <c>/webhooks/{id}</c>, no subject, stream <c>webhook-{id}</c> (the key the
    /// subscription commands append to, so an imported subscription is the same stream as the original).
    /// </summary>
    private static CatalogedEvent Webhook<T>(string type) where T : IWebhookEvent =>
        Of<T>(type, e => "/webhooks/" + e.SubscriptionId.ToString("D"), _ => null,
            stream: e => WebhookStreams.KeyOf(e.SubscriptionId), isLogLeaf: true);
}
