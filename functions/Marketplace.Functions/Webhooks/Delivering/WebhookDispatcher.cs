using System.Diagnostics;
using System.Collections.Concurrent;
using Marketplace.Webhooks;
using Marten;

namespace Marketplace.Functions.Webhooks.Delivering;

/// <summary>What a dispatcher run did.</summary>
public sealed record DispatchSummary(int Attempts, int Succeeded, int Failed, int Dead, DateTimeOffset? NextDueAt, bool LockHeld)
{
    public static readonly DispatchSummary Busy = new(0, 0, 0, 0, null, false);

    public DispatchSummary Add(DispatchSummary other) =>
        new(Attempts + other.Attempts, Succeeded + other.Succeeded, Failed + other.Failed, Dead + other.Dead, other.NextDueAt,
            LockHeld && other.LockHeld);
}

/// <summary>
/// Sends what the outbox queued, one worker per (subscription, package) chain with at most
/// <see cref="WebhookOptions.Concurrency"/> workers at once. A chain is picked up as soon as its first undone delivery
/// is due and a worker is free, under a lease (<see cref="WebhookDeliveries.ClaimAsync"/>): chains never wait for one
/// another, so a slow or dead receiver delays only its own chains, and dispatchers in several processes never send one
/// chain twice at once. Within a chain deliveries go out one after another in log order; a failed one holds the rest
/// back until its retry (per-package order), a dead one does not. What an answer makes of a delivery is
/// <see cref="DeliveryPolicy"/>; a 410 appends <c>WebhookDisabled</c>. Results are written on the row's revision (a
/// redelivery that re-queued it meanwhile wins); a crash before they are written sends those deliveries again, in the
/// same order, once the lease expires — at least once, never out of order.
/// </summary>
public sealed class WebhookDispatcher(
    WebhookDeliveries deliveries, IDocumentStore store, WebhookSender sender, WebhookOptions options, TimeProvider time,
    ILogger<WebhookDispatcher> logger)
{
    /// <summary>Results are written at least this often while a chain is being sent (so the delivery log shows a slow chain's progress).</summary>
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(1);

    private readonly Guid _holder = Guid.CreateVersion7();
    private readonly RetrySchedule _schedule = options.Schedule();

    /// <summary>Subscriptions this process saw answer 410, and when (a chain claimed before that stops sending).</summary>
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _gone = new();

    private sealed record Target(WebhookState State, WebhookEndpoint Endpoint, byte[] Key);

    private sealed class Counts
    {
        public int Attempts, Succeeded, Failed, Dead;

        public DispatchSummary Summary(DateTimeOffset? nextDue) => new(Attempts, Succeeded, Failed, Dead, nextDue, true);
    }

    /// <summary>
    /// Sends until nothing is due and nothing is in flight, or <paramref name="deadline"/> passes (then no new attempt
    /// starts and the run ends once the attempts under way are written): the serverless dispatcher, for the scheduled
    /// projections run to call after its catch-up. Retries that fall due later wait for the next scheduled run.
    /// </summary>
    public async Task<DispatchSummary> DrainAsync(TimeSpan deadline, CancellationToken ct)
    {
        using var wake = new WebhookDispatchSignal();
        return await RunAsync(wake, untilIdle: true, deadline, ct);
    }

    /// <summary>With <see cref="WebhookOptions.DispatchDeadline"/>.</summary>
    public Task<DispatchSummary> DrainAsync(CancellationToken ct) => DrainAsync(options.DispatchDeadline, ct);

    /// <summary>Sends until cancelled, woken by <paramref name="wake"/> (the outbox after each commit) or the next due retry.</summary>
    public Task<DispatchSummary> RunAsync(WebhookDispatchSignal wake, CancellationToken ct) =>
        RunAsync(wake, untilIdle: false, Timeout.InfiniteTimeSpan, ct);

    private async Task<DispatchSummary> RunAsync(WebhookDispatchSignal wake, bool untilIdle, TimeSpan deadline, CancellationToken ct)
    {
        var stopAt = deadline == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : time.GetUtcNow() + deadline;
        var counts = new Counts();
        var running = new List<Task>();
        DateTimeOffset? nextDue = null;
        try
        {
            while (!ct.IsCancellationRequested && time.GetUtcNow() < stopAt)
            {
                running.RemoveAll(t => t.IsCompleted);
                var free = options.Concurrency - running.Count;
                var claimed = 0;
                var wait = options.PollInterval;
                if (free > 0)
                {
                    try
                    {
                        var now = time.GetUtcNow();
                        var disabled = await DisabledAsync(ct);
                        var claims = await deliveries.ClaimAsync(_holder, now, options.ChainLease,
                            Math.Min(free, options.ChainsPerPass), options.DeliveriesPerChain, disabled, ct);
                        claimed = claims.Count;
                        if (claims.Count > 0)
                        {
                            var targets = await TargetsAsync([.. claims.Select(c => c.SubscriptionId).Distinct()], ct);
                            foreach (var claim in claims)
                            {
                                if (!targets.TryGetValue(claim.SubscriptionId, out var target))
                                    await deliveries.DropAsync(claim.SubscriptionId, ct);
                                // Disabled after the list above was read (a 410 meanwhile): the lease goes back unused.
                                else if (target.State.Status == WebhookState.Disabled)
                                    await deliveries.RecordAsync(_holder, claim, [], release: true);
                                else
                                    running.Add(Task.Run(() => RunChainAsync(claim, target, now, stopAt, counts, wake, ct), CancellationToken.None));
                            }
                            if (claimed == free) continue;
                        }
                        nextDue = await deliveries.NextDueAsync(time.GetUtcNow(), disabled, ct);
                        if (claimed > 0) continue;
                    }
                    catch (Exception e) when (!ct.IsCancellationRequested)
                    {
                        logger.LogWarning(e, "Webhook dispatcher could not claim chains; trying again after {PollInterval}.", options.PollInterval);
                        nextDue = null;
                    }
                    if (untilIdle && running.Count == 0) break;
                    if (nextDue is { } due)
                    {
                        var until = due - time.GetUtcNow();
                        if (until < wait) wait = until < TimeSpan.Zero ? TimeSpan.Zero : until;
                    }
                }
                var left = stopAt - time.GetUtcNow();
                if (left < wait) wait = left < TimeSpan.Zero ? TimeSpan.Zero : left;
                try
                {
                    await wake.WaitAsync(wait, ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            // Attempts under way finish (each is bounded by the attempt timeout) and are written before the run ends.
            await Task.WhenAll(running);
        }
        return counts.Summary(nextDue);
    }

    private async Task RunChainAsync(ChainClaim chain, Target target, DateTimeOffset claimedAt, DateTimeOffset stopAt, Counts counts,
        WebhookDispatchSignal wake, CancellationToken ct)
    {
        var results = new List<DeliveryResult>(chain.Deliveries.Count);
        var flushed = Stopwatch.StartNew();
        try
        {
            foreach (var row in chain.Deliveries)
            {
                var now = time.GetUtcNow();
                if (ct.IsCancellationRequested || now >= stopAt) break;
                if (row.NextAttemptAt is not { } due || due > now) break;
                // Never send once the lease could run out mid-attempt: another dispatcher may then take the chain.
                if (now + options.Timeout >= chain.LeasedUntil) break;
                if (_gone.TryGetValue(row.SubscriptionId, out var goneAt) && goneAt >= claimedAt) break;

                var outcome = await sender.SendAsync(target.Endpoint.Url, row.EventId, row.Body, target.Key, ct);
                var decision = DeliveryPolicy.Decide(
                    outcome.Status, outcome.RetryAfter, row.Tries, time.GetUtcNow(), _schedule, Random.Shared.NextDouble());
                Interlocked.Increment(ref counts.Attempts);
                switch (decision.State)
                {
                    case DeliveryStates.Succeeded:
                        Interlocked.Increment(ref counts.Succeeded);
                        WebhookMetrics.Delivered(time.GetUtcNow() - row.CreatedAt);
                        break;
                    case DeliveryStates.Dead:
                        Interlocked.Increment(ref counts.Dead);
                        break;
                    default:
                        Interlocked.Increment(ref counts.Failed);
                        break;
                }
                WebhookMetrics.Attempted(decision.State);
                if (!outcome.Succeeded)
                    logger.LogInformation(
                        "Webhook delivery {EventId} to subscription {SubscriptionId}: attempt {Tries} {Outcome} ({Error}); {State}{Next}",
                        row.EventId, row.SubscriptionId, row.Tries + 1,
                        outcome.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no answer", outcome.Error,
                        decision.State, decision.NextAttemptAt is { } n ? $", next attempt at {n:O}" : "");
                results.Add(new DeliveryResult(row, decision,
                    new DeliveryAttempt(outcome.At.ToUniversalTime(), outcome.Status, outcome.LatencyMs, outcome.Error)));
                if (decision.DisablesSubscription)
                {
                    _gone[row.SubscriptionId] = time.GetUtcNow();
                    await DisableAsync(target.State, ct);
                }
                if (decision.HoldsChain) break;
                if (flushed.Elapsed >= FlushEvery)
                {
                    await deliveries.RecordAsync(_holder, chain, results, release: false);
                    results.Clear();
                    flushed.Restart();
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Webhook chain {OrderKey} of subscription {SubscriptionId} stopped; its lease expires and it is sent again.",
                chain.OrderKey, chain.SubscriptionId);
        }
        finally
        {
            try
            {
                await deliveries.RecordAsync(_holder, chain, results, release: true);
            }
            catch (Exception e)
            {
                logger.LogWarning(e,
                    "Webhook results of chain {OrderKey} of subscription {SubscriptionId} not written; they are sent again after the lease.",
                    chain.OrderKey, chain.SubscriptionId);
            }
            wake.Wake();
        }
    }

    private async Task DisableAsync(WebhookState state, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        session.LastModifiedBy = "registry";
        var current = await session.LoadAsync<WebhookState>(state.Id, ct);
        if (current is not { Status: WebhookState.Active }) return;
        session.Events.Append(state.Id, new WebhookDisabled(state.SubscriptionId, 410, "The receiver answered 410 Gone.", time.GetUtcNow()));
        await session.SaveChangesAsync(ct);
        logger.LogWarning("Webhook subscription {SubscriptionId} disabled: its receiver answered 410 Gone.", state.SubscriptionId);
    }

    private async Task<Guid[]> DisabledAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var ids = await session.Query<WebhookState>().Where(s => s.Status == WebhookState.Disabled).Select(s => s.SubscriptionId).ToListAsync(ct);
        return [.. ids];
    }

    private async Task<Dictionary<Guid, Target>> TargetsAsync(Guid[] ids, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var states = await session.LoadManyAsync<WebhookState>(ct, ids.Select(WebhookStreams.KeyOf).ToArray());
        var endpoints = (await session.LoadManyAsync<WebhookEndpoint>(ct, ids.Select(i => i.ToString("D")).ToArray())).ToDictionary(e => e.Id);
        var targets = new Dictionary<Guid, Target>();
        foreach (var state in states)
        {
            if (state.IsRemoved || !endpoints.TryGetValue(state.SubscriptionId.ToString("D"), out var endpoint)) continue;
            targets[state.SubscriptionId] = new Target(state, endpoint, WebhookSignature.DecodeSecret(endpoint.Secret));
        }
        return targets;
    }
}

/// <summary>The dispatcher as a hosted service: chains are claimed as they fall due, woken by the outbox after each commit.</summary>
public sealed class WebhookDispatchService(WebhookDispatcher dispatcher, WebhookDispatchSignal signal, WebhookOptions options,
    ILogger<WebhookDispatchService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await dispatcher.RunAsync(signal, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Webhook dispatcher stopped; starting again after {PollInterval}.", options.PollInterval);
                try
                {
                    await Task.Delay(options.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
