using System.Text.Json.Serialization;

namespace Marketplace.Webhooks;

/// <summary>
/// What a subscription listens to: one package (<c>package</c> + <see cref="Name"/>), every package an owner key
/// owns (<c>owner</c> + <see cref="KeyId"/>), or the whole registry (<c>registry</c>).
/// </summary>
public sealed record WebhookScope(
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? KeyId = null)
{
    public const string Package = "package";
    public const string Owner = "owner";
    public const string Registry = "registry";
}

/// <summary>
/// Every event of a subscription stream (<c>webhook-{id}</c>) names its subscription. None carries the secret or the
/// full URL: <c>/v1/events</c> is public and the transparency log hashes every event, and a URL often holds the
/// receiver's own token. Events carry the URL's origin and its SHA-256 instead, so a change is still visible.
/// </summary>
public interface IWebhookEvent
{
    Guid SubscriptionId { get; }
}

public sealed record WebhookCreated(
    Guid SubscriptionId, WebhookScope Scope, string UrlOrigin, string UrlSha256, IReadOnlyList<string> EventTypes,
    string KeyId, DateTimeOffset CreatedAt) : IWebhookEvent;

/// <summary>A new URL and/or event-type filter; an update also re-enables a subscription disabled by a 410.</summary>
public sealed record WebhookUpdated(
    Guid SubscriptionId, string UrlOrigin, string UrlSha256, IReadOnlyList<string> EventTypes, string KeyId,
    DateTimeOffset UpdatedAt) : IWebhookEvent;

public sealed record WebhookRemoved(Guid SubscriptionId, string KeyId, DateTimeOffset RemovedAt) : IWebhookEvent;

/// <summary>The receiver answered 410 Gone: nothing more is sent until a signed update re-enables the subscription.</summary>
public sealed record WebhookDisabled(Guid SubscriptionId, int Status, string Reason, DateTimeOffset DisabledAt) : IWebhookEvent;

public static class WebhookStreams
{
    public const string Prefix = "webhook-";

    /// <summary>The stream key of a subscription (streams are keyed by string in this store).</summary>
    public static string KeyOf(Guid id) => Prefix + id.ToString("D");
}
