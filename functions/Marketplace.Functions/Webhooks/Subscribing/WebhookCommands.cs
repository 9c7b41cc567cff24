using Marketplace.Functions.Infrastructure;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.Webhooks;
using Marten;

namespace Marketplace.Functions.Webhooks.Subscribing;

/// <summary>What a create answers, the one time the secret is shown.</summary>
public sealed record WebhookCreatedView(
    Guid Id, string Secret, WebhookScope Scope, string Url, IReadOnlyList<string> EventTypes, string Status, string KeyId,
    DateTimeOffset CreatedAt, long Sequence);

/// <summary>A subscription as its reads show it (never the secret).</summary>
public sealed record WebhookView(
    Guid Id, WebhookScope Scope, string? Url, IReadOnlyList<string> EventTypes, string Status, string KeyId,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? DisabledReason)
{
    public static WebhookView Of(WebhookState s, string? url) =>
        new(s.SubscriptionId, s.Scope, url, [.. s.EventTypes], s.Status, s.KeyId, s.CreatedAt, s.UpdatedAt, s.DisabledReason);
}

public sealed record RedeliveryView(Guid Id, int Requeued, Guid? DeliveryId, long? FromSequence, long? ThroughSequence, bool More);

/// <summary>
/// The subscription stream's side of the write path (<see cref="EventWrites"/>): each decides against the inline
/// snapshot and commits its events, the endpoint document and the statement's receipt in one transaction (a replay
/// fails that transaction).
/// </summary>
public sealed class WebhookCommands(EventWrites writes, WebhookDeliveries deliveries, WebhookOptions options)
{
    /// <remarks>
    /// The per-key cap is a slot taken in the create's transaction (<see cref="WebhookKeySlots"/>): when another create
    /// took the same slot first, this one decides again with the count it now sees (creates racing for a key's slots
    /// each lose at most once per slot).
    /// </remarks>
    public Task<Outcome<WebhookCreatedView>> CreateAsync(
        WebhookRequest request, OwnerKey signer, string statementId, string correlationId, CancellationToken ct) =>
        writes.CommitAsync<WebhookCreatedView>(Receipt(statementId, signer), correlationId,
            new DecideAgain(options.MaxSubscriptionsPerKey + 2, WebhookKeySlots.IsTaken), async (session, now, token) =>
            {
                var scope = request.Scope!;
                var package = scope.Kind == WebhookScope.Package ? await session.LoadAsync<PackageState>(scope.Name!, token) : null;
                var live = await session.Query<WebhookState>().CountAsync(s => s.KeyId == signer.KeyId && s.Status != WebhookState.Removed, token);
                var slot = await WebhookKeySlots.FreeSlotAsync(session, signer.KeyId, options.MaxSubscriptionsPerKey, token);
                var id = Guid.CreateVersion7(now);
                var command = new WebhookDecider.Create(id, scope, request.Url!, request.EventTypes ?? [], signer.KeyId);
                var decision = WebhookDecider.Decide(package, command, slot is null ? options.MaxSubscriptionsPerKey : live,
                    options.MaxSubscriptionsPerKey, now, options.AllowsRegistryDownloads(signer.KeyId));
                if (!decision.TryGet(out var events, out var refused)) return refused;

                var key = WebhookStreams.KeyOf(id);
                var stream = session.Events.StartStream<WebhookState>(key, events);
                var secret = WebhookSignature.NewSecret();
                session.Store(new WebhookEndpoint { Id = id.ToString("D"), Url = request.Url!.Value, Secret = secret, UpdatedAt = now });
                WebhookKeySlots.QueueTake(session, signer.KeyId, slot!.Value, id);
                return new Decided<WebhookCreatedView>(key, () => new WebhookCreatedView(id, secret, scope, request.Url!.Value, command.EventTypes,
                    WebhookState.Active, signer.KeyId, now, stream.Events.Count > 0 ? stream.Events[^1].Sequence : 0));
            }, ct);

    public Task<Outcome<WebhookView>> UpdateAsync(
        WebhookRequest request, OwnerKey signer, string statementId, string correlationId, CancellationToken ct) =>
        ChangeAsync(request.Id!.Value, signer, statementId, correlationId,
            (state, package, now) => WebhookDecider.Decide(state, package, request.Id.Value,
                new WebhookDecider.Update(request.Url, request.EventTypes, signer.KeyId), now, options.AllowsRegistryDownloads(signer.KeyId)),
            request.Url, ct);

    public Task<Outcome<WebhookView>> RemoveAsync(
        WebhookRequest request, OwnerKey signer, string statementId, string correlationId, CancellationToken ct) =>
        ChangeAsync(request.Id!.Value, signer, statementId, correlationId,
            (state, package, now) => WebhookDecider.Decide(state, package, request.Id.Value, new WebhookDecider.Remove(signer.KeyId), now),
            null, ct);

    private Task<Outcome<WebhookView>> ChangeAsync(Guid id, OwnerKey signer, string statementId, string correlationId,
        Func<WebhookState?, PackageState?, DateTimeOffset, Outcome<object[]>> decide, WebhookUrl? newUrl, CancellationToken ct)
    {
        var key = WebhookStreams.KeyOf(id);
        return writes.CommitAsync<WebhookView>(
            Receipt(statementId, signer), correlationId, DecideAgain.OnStreamConflict, async (session, now, token) =>
        {
            var stream = await session.Events.FetchForWriting<WebhookState>(key, token);
            var state = stream.Aggregate;
            var package = state?.Scope.Kind == WebhookScope.Package ? await session.LoadAsync<PackageState>(state.Scope.Name!, token) : null;
            var decision = decide(state, package, now);
            if (!decision.TryGet(out var events, out var refused)) return refused;
            if (events.Length > 0) stream.AppendMany(events);

            var endpoint = await session.LoadAsync<WebhookEndpoint>(id.ToString("D"), token);
            var removed = events.Any(e => e is WebhookRemoved);
            if (removed)
            {
                // The secret and the delivery log go with the subscription: nothing is signed or shown for it again.
                session.Delete<WebhookEndpoint>(id.ToString("D"));
                deliveries.QueueDrop(session, id);
                WebhookKeySlots.QueueFree(session, id);
            }
            else if (newUrl is not null && endpoint is not null && endpoint.Url != newUrl.Value)
            {
                endpoint.Url = newUrl.Value;
                endpoint.UpdatedAt = now;
                session.Store(endpoint);
            }
            return new Decided<WebhookView>(key, () =>
                WebhookView.Of(events.Aggregate(state, WebhookState.Evolve)!, removed ? null : newUrl?.Value ?? endpoint?.Url));
        }, ct);
    }

    public Task<Outcome<RedeliveryView>> RedeliverAsync(
        WebhookRequest request, OwnerKey signer, string statementId, string correlationId, CancellationToken ct)
    {
        var id = request.Id!.Value;
        var key = WebhookStreams.KeyOf(id);
        return writes.CommitAsync<RedeliveryView>(Receipt(statementId, signer), correlationId, DecideAgain.Never, async (session, now, token) =>
        {
            var state = await session.LoadAsync<WebhookState>(key, token);
            var package = state?.Scope.Kind == WebhookScope.Package ? await session.LoadAsync<PackageState>(state.Scope.Name!, token) : null;
            if (WebhookDecider.MayManage(state, package, id, signer.KeyId) is { } refused) return refused;

            RedeliveryView view;
            if (request.DeliveryId is { } deliveryId)
            {
                if (!await deliveries.ExistsAsync(session, id, deliveryId, token))
                    return DomainError.NotFound($"Subscription {id} has no delivery {deliveryId}.");
                deliveries.QueueRedeliver(session, id, deliveryId, now);
                view = new RedeliveryView(id, 1, deliveryId, null, null, false);
            }
            else
            {
                var from = request.FromSequence!.Value;
                var sequences = await deliveries.SequencesFromAsync(session, id, from, options.MaxRedeliver + 1, token);
                var more = sequences.Count > options.MaxRedeliver;
                var through = sequences.Count == 0 ? (long?)null : sequences[Math.Min(sequences.Count, options.MaxRedeliver) - 1];
                if (through is { } last)
                    deliveries.QueueRedeliver(session, id, from, last, now);
                view = new RedeliveryView(id, Math.Min(sequences.Count, options.MaxRedeliver), null, from, through, more);
            }
            return new Decided<RedeliveryView>(key, () => view);
        }, ct);
    }

    /// <summary>The receipt of a webhook statement; <see cref="EventWrites"/> fills in the stream and the time.</summary>
    private static StatementReceipt Receipt(string statementId, OwnerKey signer) =>
        new(statementId, PayloadTypes.Webhook, "", signer.KeyId, default);
}
