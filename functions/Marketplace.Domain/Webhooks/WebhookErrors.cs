namespace Marketplace.Webhooks;

/// <summary>The rejections only subscriptions give, beside the shared ones of <see cref="DomainError"/>.</summary>
public static class WebhookErrors
{
    public static DomainError InvalidUrl(string detail) => new("invalid-url", 400, "Invalid webhook URL", detail);

    public static DomainError UnknownEventType(string detail) => new("unknown-event-type", 400, "Unknown event type", detail);

    public static DomainError SubscriptionLimit(string keyId, int max) =>
        new("subscription-limit", 409, "Too many subscriptions", $"Key {keyId} already has {max} live subscriptions; remove one first.");

    public static DomainError DownloadEventsNotAllowed(string keyId) =>
        new("download-events-not-allowed", 403, "Registry-wide download events need an allowed key",
            $"Key {keyId} may not receive every download in the registry: subscribe to your own packages (a package or owner scope), " +
            "or ask the operator to allow the key (Webhooks:DownloadEventKeys).");

    public static DomainError NotSubscriptionOwner(Guid id, string keyId) =>
        new("not-owner", 403, "The key may not manage this subscription",
            $"Key {keyId} neither created subscription {id} nor owns the package it watches.");

    public static DomainError NotFound(Guid id) => DomainError.NotFound($"Subscription {id} does not exist.");

    public static DomainError Unauthorized(string detail) => new("unauthorized", 401, "Authentication required", detail);
}
