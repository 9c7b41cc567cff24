using System.Text.Json;
using Marketplace.Projections;
using Marketplace.Webhooks;
using Marten;
using Npgsql;
using NpgsqlTypes;

namespace Marketplace.Functions.Webhooks;

/// <summary>One queued delivery as the dispatcher sends it.</summary>
public sealed record QueuedDelivery(Guid SubscriptionId, Guid EventId, long Sequence, string EventType, byte[] Body, int Tries,
    DateTimeOffset? NextAttemptAt, int Revision, string OrderKey, DateTimeOffset CreatedAt);

/// <summary>A (subscription, package) chain leased to one dispatcher until <see cref="LeasedUntil"/>, with its first undone deliveries in
/// log order.</summary>
public sealed record ChainClaim(Guid SubscriptionId, string OrderKey, DateTimeOffset LeasedUntil, IReadOnlyList<QueuedDelivery> Deliveries);

/// <summary>An attempt's result to write back: the policy's decision and the attempt for the log.</summary>
public sealed record DeliveryResult(QueuedDelivery Delivery, DeliveryDecision Decision, DeliveryAttempt Attempt);

/// <summary>
/// The one gateway to the deliveries table and its chain leases: every statement that reads or writes them is here,
/// with the states named by <see cref="DeliveryStates"/>. The outbox queues, the dispatcher claims, records and releases,
/// the subscription commands drop and re-queue, the delivery log reads.
/// </summary>
public sealed class WebhookDeliveries(IDocumentStore store)
{
    private const string Open = $"state in ('{DeliveryStates.Pending}', '{DeliveryStates.Failed}')";
    private const string Requeue =
        $"state = '{DeliveryStates.Pending}', tries = 0, next_attempt_at = ?, completed_at = null, revision = revision + 1";

    private readonly string _table = WebhookDeliveryTable.In(store.Options.DatabaseSchemaName);
    private readonly string _leases = WebhookDeliveryTable.LeasesIn(store.Options.DatabaseSchemaName);

    /// <summary>
    /// Queues pending rows in the daemon's transaction (idempotent: a page that runs again adds nothing twice). Each row:
    /// subscription id, event id, sequence, type, package ('' for none), order key, body, next attempt, created.
    /// </summary>
    public static void Queue(IDocumentOperations operations, IReadOnlyList<object?[]> rows)
    {
        var table = WebhookDeliveryTable.In(operations.DocumentStore.Options.DatabaseSchemaName);
        MultiRowInsert.Queue(operations,
            $"{table} (subscription_id, event_id, sequence, event_type, package, order_key, body, state, next_attempt_at, created_at)",
            $"(?, ?, ?, ?, nullif(?, ''), ?, ?, '{DeliveryStates.Pending}', ?, ?)", rows, "on conflict (subscription_id, event_id) do nothing");
    }

    /// <summary>Drops a removed subscription's deliveries and leases in the session's transaction.</summary>
    public void QueueDrop(IDocumentSession session, Guid subscriptionId)
    {
        session.QueueSqlCommand($"delete from {_table} where subscription_id = ?", subscriptionId);
        session.QueueSqlCommand($"delete from {_leases} where subscription_id = ?", subscriptionId);
    }

    /// <summary>Drops a removed subscription's deliveries and leases now.</summary>
    public async Task DropAsync(Guid subscriptionId, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        QueueDrop(session, subscriptionId);
        await session.SaveChangesAsync(ct);
    }

    public async Task<bool> ExistsAsync(IQuerySession session, Guid subscriptionId, Guid eventId, CancellationToken ct) =>
        (await session.AdvancedSql.QueryAsync<long>(
            $"select count(*) from {_table} where subscription_id = ? and event_id = ?", ct, subscriptionId, eventId))[0] > 0;

    /// <summary>Log positions of a subscription's deliveries from <paramref name="from"/>, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<long>> SequencesFromAsync(
        IQuerySession session, Guid subscriptionId, long from, int limit, CancellationToken ct) =>
        await session.AdvancedSql.QueryAsync<long>(
            $"select sequence from {_table} where subscription_id = ? and sequence >= ? order by sequence limit ?", ct, subscriptionId, from, limit);

    /// <summary>Re-queues one delivery as pending with a fresh attempt budget, in the session's transaction.</summary>
    public void QueueRedeliver(IDocumentSession session, Guid subscriptionId, Guid eventId, DateTimeOffset now) =>
        session.QueueSqlCommand($"update {_table} set {Requeue} where subscription_id = ? and event_id = ?",
            now.ToUniversalTime(), subscriptionId, eventId);

    /// <summary>Re-queues the deliveries between two log positions (inclusive), in the session's transaction.</summary>
    public void QueueRedeliver(IDocumentSession session, Guid subscriptionId, long from, long through, DateTimeOffset now) =>
        session.QueueSqlCommand($"update {_table} set {Requeue} where subscription_id = ? and sequence >= ? and sequence <= ?",
            now.ToUniversalTime(), subscriptionId, from, through);

    /// <summary>A page of the delivery log in log order.</summary>
    public async Task<List<(Guid Id, string Type, long Sequence, string? Package, string State, List<DeliveryAttempt> Attempts,
        DateTimeOffset? NextAttemptAt, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt)>> LogAsync(
        Guid subscriptionId, long after, int take, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var query = new NpgsqlCommand(
            $"""
             select event_id, event_type, sequence, package, state, attempts::text, next_attempt_at, created_at, completed_at
             from {_table} where subscription_id = $1 and sequence > $2 order by sequence limit $3
             """, connection)
        {
            Parameters = { new() { Value = subscriptionId }, new() { Value = after }, new() { Value = take } },
        };
        var page = new List<(Guid, string, long, string?, string, List<DeliveryAttempt>, DateTimeOffset?, DateTimeOffset, DateTimeOffset?)>();
        await using var reader = await query.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            page.Add((reader.GetGuid(0), reader.GetString(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4), JsonSerializer.Deserialize<List<DeliveryAttempt>>(reader.GetString(5), WebhookJson.Options) ?? [],
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7),
                reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8)));
        }
        return page;
    }

    /// <summary>
    /// Leases up to <paramref name="chains"/> chains whose first undone delivery is due and that nobody holds, earliest
    /// due first, in one statement: the lease row is taken by an insert whose conflict update only wins over an expired
    /// lease, so two dispatchers never hold one chain. Returns each claimed chain's first <paramref name="perChain"/>
    /// undone deliveries in log order. Chains of <paramref name="disabled"/> subscriptions are left alone. The lease rows
    /// are inserted in key order, so two dispatchers claiming overlapping chains wait on each other instead of
    /// deadlocking (40P01: each had locked one key the other wanted next).
    /// </summary>
    public async Task<IReadOnlyList<ChainClaim>> ClaimAsync(
        Guid holder, DateTimeOffset now, TimeSpan lease, int chains, int perChain, Guid[] disabled, CancellationToken ct)
    {
        var until = (now + lease).ToUniversalTime();
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
             with heads as (
               select subscription_id, order_key, next_attempt_at from (
                 select distinct on (subscription_id, order_key) subscription_id, order_key, next_attempt_at
                 from {_table} where {Open} and not (subscription_id = any($1))
                 order by subscription_id, order_key, sequence
               ) h
               where next_attempt_at <= $2
                 and not exists (select 1 from {_leases} l
                                 where l.subscription_id = h.subscription_id and l.order_key = h.order_key and l.leased_until > $2)
               order by next_attempt_at
               limit $3
             ), claimed as (
               insert into {_leases} as l (subscription_id, order_key, holder, leased_until)
               select subscription_id, order_key, $4, $5 from heads
               order by subscription_id, order_key
               on conflict (subscription_id, order_key) do update set holder = excluded.holder, leased_until = excluded.leased_until
               where l.leased_until <= $2
               returning l.subscription_id, l.order_key
             )
             select d.subscription_id, d.event_id, d.sequence, d.event_type, d.body, d.tries, d.next_attempt_at, d.revision, d.order_key, d.created_at
             from claimed c cross join lateral (
               select * from {_table} d
               where d.subscription_id = c.subscription_id and d.order_key = c.order_key and d.{Open}
               order by d.sequence limit $6
             ) d
             order by d.subscription_id, d.order_key, d.sequence
             """, connection)
        {
            Parameters =
            {
                new() { Value = disabled },
                new() { Value = now.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz },
                new() { Value = chains },
                new() { Value = holder },
                new() { Value = until, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                new() { Value = perChain },
            },
        };
        var rows = new List<QueuedDelivery>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new QueuedDelivery(
                    reader.GetGuid(0), reader.GetGuid(1), reader.GetInt64(2), reader.GetString(3), (byte[])reader[4], reader.GetInt32(5),
                    reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.GetInt32(7), reader.GetString(8),
                    reader.GetFieldValue<DateTimeOffset>(9)));
            }
        }
        return [.. rows.GroupBy(r => (r.SubscriptionId, r.OrderKey))
            .Select(g => new ChainClaim(g.Key.SubscriptionId, g.Key.OrderKey, until, [.. g]))];
    }

    /// <summary>
    /// Writes attempts' results (each only on the revision read: a redelivery that re-queued the row meanwhile wins) and,
    /// when <paramref name="release"/>, gives the chain's lease back — one round trip.
    /// </summary>
    public async Task RecordAsync(Guid holder, ChainClaim chain, IReadOnlyList<DeliveryResult> results, bool release)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(CancellationToken.None);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var (row, decision, attempt) in results)
        {
            var attempts = JsonSerializer.Serialize(new[] { attempt }, WebhookJson.Options);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"""
                 update {_table} set state = $1, tries = tries + 1, next_attempt_at = $2,
                     completed_at = case when $1 in ('{DeliveryStates.Succeeded}', '{DeliveryStates.Dead}') then now() end,
                     attempts = jsonb_path_query_array(attempts || $3::jsonb, '$[last - {WebhookDeliveryTable.AttemptsKept - 1} to last]'),
                     revision = revision + 1
                 where subscription_id = $4 and event_id = $5 and revision = $6
                 """)
            {
                Parameters =
                {
                    new() { Value = decision.State },
                    new() { Value = decision.NextAttemptAt is { } n ? n.ToUniversalTime() : DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                    new() { Value = attempts },
                    new() { Value = row.SubscriptionId },
                    new() { Value = row.EventId },
                    new() { Value = row.Revision },
                },
            });
        }
        if (release)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"delete from {_leases} where subscription_id = $1 and order_key = $2 and holder = $3")
            {
                Parameters = { new() { Value = chain.SubscriptionId }, new() { Value = chain.OrderKey }, new() { Value = holder } },
            });
        }
        if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>When the earliest chain nobody holds falls due (null when no chain waits).</summary>
    public async Task<DateTimeOffset?> NextDueAsync(DateTimeOffset now, Guid[] disabled, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
             select min(next_attempt_at) from (
               select distinct on (subscription_id, order_key) subscription_id, order_key, next_attempt_at
               from {_table} where {Open} and not (subscription_id = any($1))
               order by subscription_id, order_key, sequence
             ) h
             where not exists (select 1 from {_leases} l
                               where l.subscription_id = h.subscription_id and l.order_key = h.order_key and l.leased_until > $2)
             """, connection)
        {
            Parameters = { new() { Value = disabled }, new() { Value = now.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz } },
        };
        return await command.ExecuteScalarAsync(ct) is DateTime at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;
    }
}
