using JasperFx.Events;
using Marketplace.Webhooks;
using Marten.Events.Aggregation;

namespace Marketplace.Projections.Webhooks;

/// <summary>The decider state of a subscription stream, kept inline with its events (as <c>PackageState</c> is).</summary>
public sealed partial class WebhookStateProjection : SingleStreamProjection<WebhookState, string>
{
    public override WebhookState? Evolve(WebhookState? snapshot, string id, IEvent e) =>
        WebhookState.Evolve(snapshot, e.Data);
}
