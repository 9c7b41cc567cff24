using Marten;
using Npgsql;
using NpgsqlTypes;
using Weasel.Core;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Marketplace.Functions.Protection;

/// <summary>
/// Shares rate-limit counts between instances without a database round trip per request: every
/// <c>Protection:ReconcileInterval</c> this instance writes the counts that changed in the current windows (one row per
/// policy, partition, window and instance in <c>mkt_rate_usage</c>) and reads back what the other instances counted for
/// the partitions it holds, and for the partitions the others spent at least half a quota of, in one round trip; the
/// limiters then admit a request only while their own count plus the others' stays within the quota. Between two ticks
/// an instance knows the others' counts as of the last tick, so the quota can be exceeded by at most what a client
/// sends to other instances within one interval. Ended windows are deleted. If the database is unreachable the limits
/// stay local.
/// </summary>
public sealed class RateLimitReconciler(
    IDocumentStore store, AddressRateLimiter addresses, KeyRateLimiter keys, ProtectionOptions options,
    [FromKeyedServices(ProtectionServices.ClockKey)] TimeProvider time, ILogger<RateLimitReconciler> logger) : BackgroundService
{
    public const string TableName = "mkt_rate_usage";

    private readonly Guid _instance = Guid.CreateVersion7();
    private DateTimeOffset _nextCleanup;
    private DateTimeOffset _quietUntil;

    public static Table Define(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn("policy", "text").AsPrimaryKey();
        table.AddColumn("partition", "text").AsPrimaryKey();
        table.AddColumn("window_start", "timestamp with time zone").AsPrimaryKey();
        table.AddColumn<Guid>("instance").AsPrimaryKey();
        table.AddColumn<int>("used").NotNull();
        table.AddColumn("expires_at", "timestamp with time zone").NotNull();
        return table;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.ReconcileInterval <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(options.ReconcileInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await ReconcileAsync(stoppingToken);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    if (time.GetUtcNow() >= _quietUntil)
                    {
                        logger.LogWarning(e, "Rate-limit counts could not be shared; limits are per instance until the database answers.");
                        _quietUntil = time.GetUtcNow().AddMinutes(1);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One exchange: write this instance's changed counts, read the others' for the partitions held here.</summary>
    public async Task ReconcileAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var limiters = addresses.Partitions.Concat(keys.Partitions).ToList();
        var written = new List<(FixedWindowPartitions Limiter, string Partition, DateTimeOffset Start, int Used)>();
        var held = new List<(FixedWindowPartitions Limiter, string Partition, DateTimeOffset Start)>();
        foreach (var limiter in limiters)
        {
            written.AddRange(limiter.TakeUnreported(now).Select(u => (limiter, u.Partition, u.Start, u.Used)));
            var start = limiter.WindowOf(now);
            held.AddRange(limiter.Held(now).Select(p => (limiter, p, start)));
        }
        var cleanup = now >= _nextCleanup;
        if (limiters.Count == 0) return;

        var table = $"{store.Options.DatabaseSchemaName}.{TableName}";
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var batch = new NpgsqlBatch(connection);
        if (written.Count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"""
                 insert into {table} (policy, partition, window_start, instance, used, expires_at)
                 select p, k, s, $5, u, e from unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $6::timestamptz[]) w(p, k, s, u, e)
                 on conflict (policy, partition, window_start, instance) do update set used = greatest({table}.used, excluded.used)
                 """)
            {
                Parameters =
                {
                    new() { Value = written.Select(w => w.Limiter.Policy).ToArray() },
                    new() { Value = written.Select(w => w.Partition).ToArray() },
                    new()
                    {
                        Value = written.Select(w => w.Start.UtcDateTime).ToArray(),
                        NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
                    },
                    new() { Value = written.Select(w => w.Used).ToArray() },
                    new() { Value = _instance },
                    new()
                    {
                        Value = written.Select(w => (w.Start + w.Limiter.Window).UtcDateTime).ToArray(),
                        NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
                    },
                },
            });
        }
        if (held.Count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"""
                 select u.policy, u.partition, u.window_start, sum(u.used)::int
                 from {table} u join unnest($1::text[], $2::text[], $3::timestamptz[]) h(p, k, s)
                   on u.policy = h.p and u.partition = h.k and u.window_start = h.s
                 where u.instance <> $4
                 group by u.policy, u.partition, u.window_start
                 """)
            {
                Parameters =
                {
                    new() { Value = held.Select(h => h.Limiter.Policy).ToArray() },
                    new() { Value = held.Select(h => h.Partition).ToArray() },
                    new() { Value = held.Select(h => h.Start.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz },
                    new() { Value = _instance },
                },
            });
        }
        // Partitions this instance has not seen but the others have spent half the quota of: so a client that
        // moves to a fresh instance is refused there from its first request.
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            $"""
             select u.policy, u.partition, u.window_start, sum(u.used)::int
             from {table} u join unnest($1::text[], $2::int[]) q(p, half) on u.policy = q.p
             where u.instance <> $3 and u.expires_at > $4
             group by u.policy, u.partition, u.window_start, q.half
             having sum(u.used) >= q.half
             """)
        {
            Parameters =
            {
                new() { Value = limiters.Select(l => l.Policy).ToArray() },
                new() { Value = limiters.Select(l => Math.Max(1, l.Quota / 2)).ToArray() },
                new() { Value = _instance },
                new() { Value = now.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz },
            },
        });
        if (cleanup)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"delete from {table} where expires_at < $1")
            {
                Parameters = { new() { Value = now.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz } },
            });
            _nextCleanup = now.AddMinutes(1);
        }
        var byPolicy = limiters.ToDictionary(l => l.Policy, StringComparer.Ordinal);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        do
        {
            if (reader.FieldCount != 4) continue;
            while (await reader.ReadAsync(ct))
            {
                if (byPolicy.TryGetValue(reader.GetString(0), out var limiter))
                    limiter.SetOthers(reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetInt32(3));
            }
        }
        while (await reader.NextResultAsync(ct));
    }
}
