using System.Collections.Immutable;

namespace Marketplace.Webhooks;

/// <summary>What deciding about a subscription needs: its scope, creator, filter and whether it is live.</summary>
public sealed record WebhookState(
    string Id,
    Guid SubscriptionId,
    WebhookScope Scope,
    string KeyId,
    string UrlOrigin,
    string UrlSha256,
    ImmutableArray<string> EventTypes,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? DisabledReason)
{
    public const string Active = "active";
    public const string Disabled = "disabled";
    public const string Removed = "removed";

    public bool IsRemoved => Status == Removed;

    /// <summary>The events <see cref="Evolve"/> changes the state on; the inline snapshot is folded from these only.</summary>
    public static readonly IReadOnlyList<Type> EvolvedBy =
        [typeof(WebhookCreated), typeof(WebhookUpdated), typeof(WebhookRemoved), typeof(WebhookDisabled)];

    public static WebhookState? Evolve(WebhookState? state, object @event) => @event switch
    {
        WebhookCreated e => new WebhookState(WebhookStreams.KeyOf(e.SubscriptionId), e.SubscriptionId, e.Scope, e.KeyId,
            e.UrlOrigin, e.UrlSha256, [.. e.EventTypes], Active, e.CreatedAt, e.CreatedAt, null),
        WebhookUpdated e when state is not null => state with
        {
            UrlOrigin = e.UrlOrigin, UrlSha256 = e.UrlSha256, EventTypes = [.. e.EventTypes], Status = Active,
            UpdatedAt = e.UpdatedAt, DisabledReason = null,
        },
        WebhookRemoved e when state is not null => state with { Status = Removed, UpdatedAt = e.RemovedAt },
        WebhookDisabled e when state is { IsRemoved: false } => state with { Status = Disabled, UpdatedAt = e.DisabledAt, DisabledReason = e.Reason },
        _ => state,
    };
}
