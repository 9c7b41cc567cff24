using JasperFx.Events;
using Marketplace.Webhooks;
using Marten.Events.Aggregation;

namespace Marketplace.Projections.Webhooks;

/// <summary>The decider state of a subscription stream, kept inline with its events (as <c>PackageState</c> is).</summary>
public sealed partial class WebhookStateProjection : SingleStreamProjection<WebhookState, string>
{
    /// <summary>Only the subscription events (see <c>PackageStateProjection</c>): a publish no longer loads a webhook snapshot.</summary>
    public WebhookStateProjection()
    {
        foreach (var type in WebhookState.EvolvedBy) IncludeType(type);
    }

    public override WebhookState? Evolve(WebhookState? snapshot, string id, IEvent e) =>
        WebhookState.Evolve(snapshot, e.Data);
}
