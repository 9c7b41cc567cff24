using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Marketplace.Webhooks;
using Marten;
using Npgsql;
using NpgsqlTypes;

namespace Marketplace.Functions.Webhooks.Delivering;

/// <summary>What a dispatch pass or run did.</summary>
public sealed record DispatchSummary(int Attempts, int Succeeded, int Failed, int Dead, DateTimeOffset? NextDueAt, bool LockHeld)
{
    public static readonly DispatchSummary Busy = new(0, 0, 0, 0, null, false);

    public DispatchSummary Add(DispatchSummary other) =>
        new(Attempts + other.Attempts, Succeeded + other.Succeeded, Failed + other.Failed, Dead + other.Dead, other.NextDueAt, LockHeld && other.LockHeld);
}

/// <summary>
/// Sends what the outbox queued. A pass takes, per (subscription, package) chain, the earliest undone deliveries in
/// log order — a chain whose first undone delivery is not due yet is left alone entirely, so nothing for package P
/// overtakes an earlier delivery for P to the same subscription until that one has succeeded or is dead — and sends
/// each chain's deliveries one after another, chains in parallel. The rows are then updated on their revision (a
/// redelivery that re-queued one meanwhile wins). Outcomes: 2xx succeeded; 410 disables the subscription
/// (an event) and holds its deliveries; any other failure waits <c>Retry-After</c> (429/503) or the backoff, and the
/// last attempt makes the delivery dead. A session advisory lock makes passes exclusive across processes.
/// </summary>
public sealed class WebhookDispatcher(
    IDocumentStore store, WebhookSender sender, WebhookOptions options, TimeProvider time, ILogger<WebhookDispatcher> logger)
{
    private readonly string _table = WebhookDeliveryTable.In(store.Options.DatabaseSchemaName);
    private readonly RetrySchedule _schedule = options.Schedule();
    private readonly long _lockKey = BitConverter.ToInt64(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("webhooks:" + store.Options.DatabaseSchemaName)));

    private sealed record Row(Guid SubscriptionId, Guid EventId, long Sequence, string EventType, byte[] Body, int Tries,
        DateTimeOffset? NextAttemptAt, int Revision, string OrderKey, DateTimeOffset CreatedAt);

    private sealed record Target(WebhookState State, WebhookEndpoint Endpoint, byte[] Key);

    /// <summary>
    /// Passes until nothing is due or <paramref name="deadline"/> passes: the serverless dispatcher, for the scheduled
    /// projections run to call after its catch-up (which is what queues deliveries there). Retries that fall due
    /// later wait for the next scheduled run. Safe beside another dispatcher: passes are exclusive (advisory lock).
    /// </summary>
    public async Task<DispatchSummary> DrainAsync(TimeSpan deadline, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var total = new DispatchSummary(0, 0, 0, 0, null, true);
        while (clock.Elapsed < deadline && !ct.IsCancellationRequested)
        {
            var pass = await DispatchOnceAsync(ct);
            total = total.Add(pass);
            if (pass.Attempts == 0) break;
        }
        return total;
    }

    /// <summary>With <see cref="WebhookOptions.DispatchDeadline"/>.</summary>
    public Task<DispatchSummary> DrainAsync(CancellationToken ct) => DrainAsync(options.DispatchDeadline, ct);

    /// <summary>One pass over the due chains. <see cref="DispatchSummary.NextDueAt"/> is set when nothing was due.</summary>
    public async Task<DispatchSummary> DispatchOnceAsync(CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        if (!await TryLockAsync(connection, ct)) return DispatchSummary.Busy;
        try
        {
            var disabled = await DisabledAsync(ct);
            var now = time.GetUtcNow();
            var rows = await DueChainsAsync(connection, now, disabled, ct);
            if (rows.Count == 0)
                return new DispatchSummary(0, 0, 0, 0, await NextDueAsync(connection, disabled, ct), true);

            var targets = await TargetsAsync(rows.Select(r => r.SubscriptionId).Distinct().ToArray(), ct);
            var chains = rows.GroupBy(r => (r.SubscriptionId, r.OrderKey)).ToList();
            var gone = new ConcurrentDictionary<Guid, bool>();
            var counts = new int[4];
            var orphans = chains.Select(c => c.Key.SubscriptionId).Distinct().Where(id => !targets.ContainsKey(id)).ToArray();
            foreach (var id in orphans) await DropAsync(id, ct);

            await Parallel.ForEachAsync(chains.Where(c => targets.ContainsKey(c.Key.SubscriptionId)),
                new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = ct },
                async (chain, token) => await RunChainAsync(chain.ToList(), targets[chain.Key.SubscriptionId], gone, counts, token));
            return new DispatchSummary(counts[0], counts[1], counts[2], counts[3], null, true);
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("select pg_advisory_unlock($1)", connection) { Parameters = { new() { Value = _lockKey } } };
            await unlock.ExecuteScalarAsync(CancellationToken.None);
        }
    }

    private sealed record Result(Row Row, string State, int Tries, AttemptOutcome Outcome, DateTimeOffset? Next);

    /// <remarks>
    /// A chain's results are written together when it ends (one round trip): a crash in between sends those
    /// deliveries again, in the same order — at least once, never out of order.
    /// </remarks>
    private async Task RunChainAsync(List<Row> chain, Target target, ConcurrentDictionary<Guid, bool> gone, int[] counts, CancellationToken ct)
    {
        var results = new List<Result>(chain.Count);
        try
        {
            foreach (var row in chain)
            {
                if (gone.ContainsKey(row.SubscriptionId)) return;
                var now = time.GetUtcNow();
                if (row.NextAttemptAt is not { } due || due > now) return;

                var outcome = await sender.SendAsync(target.Endpoint.Url, row.EventId, row.Body, target.Key, ct);
                var tries = row.Tries + 1;
                Interlocked.Increment(ref counts[0]);
                string state;
                DateTimeOffset? next = null;
                if (outcome.Succeeded)
                {
                    state = WebhookDeliveryTable.Succeeded;
                    Interlocked.Increment(ref counts[1]);
                    WebhookMetrics.Delivered(time.GetUtcNow() - row.CreatedAt);
                }
                else if (outcome.Gone)
                {
                    // Held, not dead: an update that re-enables the subscription sends it and the rest in order.
                    state = WebhookDeliveryTable.Failed;
                    next = now;
                    Interlocked.Increment(ref counts[2]);
                    if (gone.TryAdd(row.SubscriptionId, true)) await DisableAsync(target.State, ct);
                }
                else if (tries >= _schedule.MaxAttempts)
                {
                    state = WebhookDeliveryTable.Dead;
                    Interlocked.Increment(ref counts[3]);
                }
                else
                {
                    state = WebhookDeliveryTable.Failed;
                    var wait = _schedule.RetryAfter(outcome.RetryAfter, outcome.At) ?? _schedule.DelayAfter(tries, Random.Shared.NextDouble())!.Value;
                    next = time.GetUtcNow() + wait;
                    Interlocked.Increment(ref counts[2]);
                }
                WebhookMetrics.Attempted(state);
                if (!outcome.Succeeded)
                    logger.LogInformation("Webhook delivery {EventId} to subscription {SubscriptionId}: attempt {Tries} {Outcome} ({Error}); {State}{Next}",
                        row.EventId, row.SubscriptionId, tries, outcome.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no answer", outcome.Error, state,
                        next is { } n ? $", next attempt at {n:O}" : "");
                results.Add(new Result(row, state, tries, outcome, next));
                // A failure holds the rest of the package's deliveries back; dead ones do not.
                if (state == WebhookDeliveryTable.Failed) return;
            }
        }
        finally
        {
            if (results.Count > 0) await RecordAsync(results);
        }
    }

    /// <summary>
    /// Each result is applied only if the row's revision is still the one read: a redelivery that re-queued it
    /// meanwhile wins, and the next pass picks the chain up afresh.
    /// </summary>
    private async Task RecordAsync(List<Result> results)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(CancellationToken.None);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var (row, state, tries, outcome, next) in results)
        {
            var attempt = JsonSerializer.Serialize(new[] { new DeliveryAttempt(outcome.At.ToUniversalTime(), outcome.Status, outcome.LatencyMs, outcome.Error) }, WebhookJson.Options);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"""
                 update {_table} set state = $1, tries = $2, next_attempt_at = $3,
                     completed_at = case when $1 in ('succeeded', 'dead') then now() end,
                     attempts = jsonb_path_query_array(attempts || $4::jsonb, '$[last - {WebhookDeliveryTable.AttemptsKept - 1} to last]'),
                     revision = revision + 1
                 where subscription_id = $5 and event_id = $6 and revision = $7
                 """)
            {
                Parameters =
                {
                    new() { Value = state },
                    new() { Value = tries },
                    new() { Value = next is { } n ? n.ToUniversalTime() : DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                    new() { Value = attempt },
                    new() { Value = row.SubscriptionId },
                    new() { Value = row.EventId },
                    new() { Value = row.Revision },
                },
            });
        }
        await batch.ExecuteNonQueryAsync(CancellationToken.None);
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

    /// <summary>A removed subscription's undone deliveries are dropped (its log went with it).</summary>
    private async Task DropAsync(Guid subscriptionId, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var delete = new NpgsqlCommand($"delete from {_table} where subscription_id = $1", connection) { Parameters = { new() { Value = subscriptionId } } };
        await delete.ExecuteNonQueryAsync(ct);
    }

    private async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("select pg_try_advisory_lock($1)", connection) { Parameters = { new() { Value = _lockKey } } };
        return await command.ExecuteScalarAsync(ct) is true;
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

    private async Task<List<Row>> DueChainsAsync(NpgsqlConnection connection, DateTimeOffset now, Guid[] disabled, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
             select subscription_id, event_id, sequence, event_type, body, tries, next_attempt_at, revision, order_key, created_at
             from (
               select d.*, row_number() over chain as rn, first_value(next_attempt_at) over chain as head_due
               from {_table} d
               where state in ('pending', 'failed') and not (subscription_id = any($1))
               window chain as (partition by subscription_id, order_key order by sequence)
             ) x
             where rn <= $2 and head_due <= $3
             order by head_due, subscription_id, order_key, sequence
             limit $4
             """, connection)
        {
            Parameters =
            {
                new() { Value = disabled },
                new() { Value = options.DeliveriesPerChain },
                new() { Value = now.ToUniversalTime() },
                new() { Value = (long)options.ChainsPerPass * options.DeliveriesPerChain },
            },
        };
        var rows = new List<Row>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new Row(reader.GetGuid(0), reader.GetGuid(1), reader.GetInt64(2), reader.GetString(3), (byte[])reader[4], reader.GetInt32(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.GetInt32(7), reader.GetString(8), reader.GetFieldValue<DateTimeOffset>(9)));
        }
        return rows;
    }

    private async Task<DateTimeOffset?> NextDueAsync(NpgsqlConnection connection, Guid[] disabled, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
             select min(next_attempt_at) from (
               select distinct on (subscription_id, order_key) next_attempt_at
               from {_table}
               where state in ('pending', 'failed') and not (subscription_id = any($1))
               order by subscription_id, order_key, sequence
             ) heads
             """, connection)
        {
            Parameters = { new() { Value = disabled } },
        };
        return await command.ExecuteScalarAsync(ct) is DateTime at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;
    }
}

/// <summary>The dispatcher as a hosted service: passes back to back while there is work, else it waits for the outbox's wake-up or the next due retry.</summary>
public sealed class WebhookDispatchService(WebhookDispatcher dispatcher, WebhookDispatchSignal signal, WebhookOptions options, TimeProvider time,
    ILogger<WebhookDispatchService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            DispatchSummary pass;
            try
            {
                pass = await dispatcher.DispatchOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Webhook dispatch pass failed; trying again after {PollInterval}.", options.PollInterval);
                pass = DispatchSummary.Busy;
            }
            if (pass.Attempts > 0) continue;
            var wait = options.PollInterval;
            if (pass.NextDueAt is { } due)
            {
                var until = due - time.GetUtcNow();
                if (until < wait) wait = until < TimeSpan.Zero ? TimeSpan.Zero : until;
            }
            try
            {
                await signal.WaitAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
