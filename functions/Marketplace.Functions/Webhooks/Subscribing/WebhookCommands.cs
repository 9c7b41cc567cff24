using JasperFx;
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
/// The write paths of subscription streams: each decides against the inline snapshot and commits its events, the
/// endpoint document and the statement's receipt in one transaction (a replay fails that transaction), deciding
/// again if another writer moved the stream first.
/// </summary>
public sealed class WebhookCommands(IDocumentStore store, WebhookDeliveries deliveries, TimeProvider time, WebhookOptions options, ILogger<WebhookCommands> logger)
{
    private const int MaxAttempts = 4;

    /// <summary>Creates racing for a key's slots each lose at most once per slot.</summary>
    private int MaxSlotAttempts => options.MaxSubscriptionsPerKey + 2;

    /// <remarks>
    /// The per-key cap is a slot taken in the create's transaction (<see cref="WebhookKeySlots"/>): when another create
    /// took the same slot first, this one decides again with the count it now sees.
    /// </remarks>
    public async Task<Outcome<WebhookCreatedView>> CreateAsync(WebhookRequest request, OwnerKey signer, string statementId, string correlationId, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var session = Open(signer, correlationId);
            var scope = request.Scope!;
            var package = scope.Kind == WebhookScope.Package ? await session.LoadAsync<PackageState>(scope.Name!, ct) : null;
            var live = await session.Query<WebhookState>().CountAsync(s => s.KeyId == signer.KeyId && s.Status != WebhookState.Removed, ct);
            var slot = await WebhookKeySlots.FreeSlotAsync(session, signer.KeyId, options.MaxSubscriptionsPerKey, ct);
            var now = time.GetUtcNow();
            var id = Guid.CreateVersion7(now);
            var command = new WebhookDecider.Create(id, scope, request.Url!, request.EventTypes ?? [], signer.KeyId);
            var decision = WebhookDecider.Decide(package, command, slot is null ? options.MaxSubscriptionsPerKey : live, options.MaxSubscriptionsPerKey, now,
                options.AllowsRegistryDownloads(signer.KeyId));
            if (decision.Error is { } refused) return refused;

            var key = WebhookStreams.KeyOf(id);
            var stream = session.Events.StartStream<WebhookState>(key, decision.Value!);
            var secret = WebhookSignature.NewSecret();
            session.Store(new WebhookEndpoint { Id = id.ToString("D"), Url = request.Url!.Value, Secret = secret, UpdatedAt = now });
            WebhookKeySlots.QueueTake(session, signer.KeyId, slot!.Value, id);
            session.Insert(Receipt(statementId, key, signer, now));
            try
            {
                await session.SaveChangesAsync(ct);
            }
            catch (Exception e) when (IsDuplicateReceipt(e))
            {
                return DomainError.ReplayedStatement();
            }
            catch (Exception e) when (WebhookKeySlots.IsTaken(e) && attempt < MaxSlotAttempts)
            {
                logger.LogDebug("Subscription slot {Slot} of key {KeyId} taken meanwhile; deciding again (attempt {Attempt}).", slot, signer.KeyId, attempt);
                continue;
            }
            var sequence = stream.Events.Count > 0 ? stream.Events[^1].Sequence : 0;
            return new WebhookCreatedView(id, secret, scope, request.Url!.Value, command.EventTypes, WebhookState.Active, signer.KeyId, now, sequence);
        }
    }

    public Task<Outcome<WebhookView>> UpdateAsync(WebhookRequest request, OwnerKey signer, string statementId, string correlationId, CancellationToken ct) =>
        ChangeAsync(request.Id!.Value, signer, statementId, correlationId,
            (state, package, now) => WebhookDecider.Decide(state, package, request.Id.Value, new WebhookDecider.Update(request.Url, request.EventTypes, signer.KeyId), now,
                options.AllowsRegistryDownloads(signer.KeyId)),
            request.Url, ct);

    public Task<Outcome<WebhookView>> RemoveAsync(WebhookRequest request, OwnerKey signer, string statementId, string correlationId, CancellationToken ct) =>
        ChangeAsync(request.Id!.Value, signer, statementId, correlationId,
            (state, package, now) => WebhookDecider.Decide(state, package, request.Id.Value, new WebhookDecider.Remove(signer.KeyId), now),
            null, ct);

    private async Task<Outcome<WebhookView>> ChangeAsync(Guid id, OwnerKey signer, string statementId, string correlationId,
        Func<WebhookState?, PackageState?, DateTimeOffset, Outcome<object[]>> decide, WebhookUrl? newUrl, CancellationToken ct)
    {
        var key = WebhookStreams.KeyOf(id);
        for (var attempt = 1; ; attempt++)
        {
            await using var session = Open(signer, correlationId);
            var stream = await session.Events.FetchForWriting<WebhookState>(key, ct);
            var state = stream.Aggregate;
            var package = state?.Scope.Kind == WebhookScope.Package ? await session.LoadAsync<PackageState>(state.Scope.Name!, ct) : null;
            var now = time.GetUtcNow();
            var decision = decide(state, package, now);
            if (decision.Error is { } refused) return refused;
            var events = decision.Value!;
            if (events.Length > 0) stream.AppendMany(events);

            var endpoint = await session.LoadAsync<WebhookEndpoint>(id.ToString("D"), ct);
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
            session.Insert(Receipt(statementId, key, signer, now));
            try
            {
                await session.SaveChangesAsync(ct);
                var after = events.Aggregate(state, WebhookState.Evolve)!;
                return WebhookView.Of(after, removed ? null : newUrl?.Value ?? endpoint?.Url);
            }
            catch (Exception e) when (IsStreamConflict(e) && attempt < MaxAttempts)
            {
                logger.LogDebug("Subscription stream {Key} moved on during a command; deciding again (attempt {Attempt}).", key, attempt);
            }
            catch (Exception e) when (IsDuplicateReceipt(e))
            {
                return DomainError.ReplayedStatement();
            }
        }
    }

    /// <summary>
    /// Re-queues one delivery, or every delivery from a log position (at most <see cref="WebhookOptions.MaxRedeliver"/>
    /// per statement), as pending with a fresh attempt budget; the webhook-id stays the event's id.
    /// </summary>
    public async Task<Outcome<RedeliveryView>> RedeliverAsync(WebhookRequest request, OwnerKey signer, string statementId, string correlationId, CancellationToken ct)
    {
        var id = request.Id!.Value;
        var key = WebhookStreams.KeyOf(id);
        await using var session = Open(signer, correlationId);
        var state = await session.LoadAsync<WebhookState>(key, ct);
        var package = state?.Scope.Kind == WebhookScope.Package ? await session.LoadAsync<PackageState>(state.Scope.Name!, ct) : null;
        if (WebhookDecider.MayManage(state, package, id, signer.KeyId) is { } refused) return refused;

        var now = time.GetUtcNow().ToUniversalTime();
        RedeliveryView view;
        if (request.DeliveryId is { } deliveryId)
        {
            if (!await deliveries.ExistsAsync(session, id, deliveryId, ct)) return DomainError.NotFound($"Subscription {id} has no delivery {deliveryId}.");
            deliveries.QueueRedeliver(session, id, deliveryId, now);
            view = new RedeliveryView(id, 1, deliveryId, null, null, false);
        }
        else
        {
            var from = request.FromSequence!.Value;
            var sequences = await deliveries.SequencesFromAsync(session, id, from, options.MaxRedeliver + 1, ct);
            var more = sequences.Count > options.MaxRedeliver;
            var through = sequences.Count == 0 ? (long?)null : sequences[Math.Min(sequences.Count, options.MaxRedeliver) - 1];
            if (through is { } last)
                deliveries.QueueRedeliver(session, id, from, last, now);
            view = new RedeliveryView(id, Math.Min(sequences.Count, options.MaxRedeliver), null, from, through, more);
        }
        session.Insert(Receipt(statementId, key, signer, now));
        try
        {
            await session.SaveChangesAsync(ct);
        }
        catch (Exception e) when (IsDuplicateReceipt(e))
        {
            return DomainError.ReplayedStatement();
        }
        return view;
    }

    private IDocumentSession Open(OwnerKey signer, string correlationId)
    {
        var session = store.LightweightSession();
        session.CorrelationId = correlationId;
        session.LastModifiedBy = signer.KeyId;
        return session;
    }

    private static StatementReceipt Receipt(string statementId, string key, OwnerKey signer, DateTimeOffset now) =>
        new(statementId, PayloadTypes.Webhook, key, signer.KeyId, now);

    private static bool IsStreamConflict(Exception e) =>
        e is ConcurrencyException or Marten.Exceptions.ExistingStreamIdCollisionException;

    private static bool IsDuplicateReceipt(Exception e) =>
        e is DocumentAlreadyExistsException d && d.DocType == typeof(StatementReceipt);
}
