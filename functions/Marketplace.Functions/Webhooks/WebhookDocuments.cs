using Marketplace.Webhooks;
using Weasel.Core;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Marketplace.Functions.Webhooks;

/// <summary>
/// Where a subscription delivers and the secret it signs with: a document, never an event (events are public and
/// hashed into the transparency log). The secret is shown once, in the answer to the create statement.
/// </summary>
public sealed class WebhookEndpoint
{
    /// <summary>The subscription id (UUID, "D" format).</summary>
    public string Id { get; set; } = "";
    public string Url { get; set; } = "";
    public string Secret { get; set; } = "";
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A subscription as the outbox subscription knew it at its own position in the log (folded from the webhook events
/// it has processed), so an event is matched against the subscriptions that existed when it was committed, never
/// against later ones.
/// </summary>
public sealed class WebhookRoute
{
    public Guid Id { get; set; }
    public WebhookState State { get; set; } = null!;
}

/// <summary>One attempt in a delivery's log.</summary>
public sealed record DeliveryAttempt(DateTimeOffset At, int? Status, double LatencyMs, string? Error);

/// <summary>
/// The outbox: one row per (subscription, event), written by the outbox subscription in the transaction that
/// records its progress, updated by the dispatcher after each attempt. A plain table rather than documents so an
/// insert can be idempotent (<c>on conflict do nothing</c>: a page that runs again adds nothing twice), the next
/// deliveries per package can be found with one window query, and an update can check the row's revision.
/// </summary>
public static class WebhookDeliveryTable
{
    public const string Name = "mkt_webhook_deliveries";

    public const string LeasesName = "mkt_webhook_chain_leases";

    /// <summary>Attempts kept per delivery (older ones are dropped from the log).</summary>
    public const int AttemptsKept = 50;

    public static string In(string schema) => $"{schema}.{Name}";

    public static string LeasesIn(string schema) => $"{schema}.{LeasesName}";

    /// <summary>
    /// Chain leases: a (subscription, package) chain is sent by the dispatcher holding an unexpired lease on it, so
    /// chains proceed independently and dispatchers in several processes never send one chain at once.
    /// </summary>
    public static Table DefineLeases(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, LeasesName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<Guid>("subscription_id").AsPrimaryKey();
        table.AddColumn("order_key", "text").AsPrimaryKey();
        table.AddColumn<Guid>("holder").NotNull();
        table.AddColumn("leased_until", "timestamp with time zone").NotNull();
        return table;
    }

    public static Table Define(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, Name, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<Guid>("subscription_id").AsPrimaryKey();
        table.AddColumn<Guid>("event_id").AsPrimaryKey();
        table.AddColumn<long>("sequence").NotNull();
        table.AddColumn("event_type", "text").NotNull();
        table.AddColumn("package", "text");
        // The CloudEvent source (/packages/{name}, /webhooks/{id}): deliveries with one key go out in log order.
        table.AddColumn("order_key", "text").NotNull();
        table.AddColumn("body", "bytea").NotNull();
        table.AddColumn("state", "text").NotNull();
        table.AddColumn<int>("tries").NotNull().DefaultValueByExpression("0");
        table.AddColumn("attempts", "jsonb").NotNull().DefaultValueByExpression("'[]'::jsonb");
        table.AddColumn("next_attempt_at", "timestamp with time zone");
        table.AddColumn("created_at", "timestamp with time zone").NotNull();
        table.AddColumn("completed_at", "timestamp with time zone");
        table.AddColumn<int>("revision").NotNull().DefaultValueByExpression("0");
        table.Indexes.Add(new IndexDefinition("mkt_webhook_deliveries_chain")
        {
            Columns = ["subscription_id", "order_key", "sequence"],
            // As PostgreSQL prints it back, so the schema check sees no difference on the next start.
            Predicate = "state = ANY (ARRAY['pending'::text, 'failed'::text])",
        });
        table.Indexes.Add(new IndexDefinition("mkt_webhook_deliveries_log") { Columns = ["subscription_id", "sequence"] });
        return table;
    }
}

/// <summary>
/// A key's subscription slots: one row per live subscription, numbered below <see cref="WebhookOptions.MaxSubscriptionsPerKey"/>
/// and unique per key, inserted in the create's transaction and deleted in the remove's. Two creates racing for the
/// last slot both pick it; the primary key lets one commit and the other decides again — the cap holds under concurrency.
/// </summary>
public static class WebhookKeySlots
{
    public const string Name = "mkt_webhook_key_slots";

    public static string In(string schema) => $"{schema}.{Name}";

    public static Table Define(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, Name, SchemaUtils.IdentifierUsage.General));
        table.AddColumn("key_id", "text").AsPrimaryKey();
        table.AddColumn<int>("slot").AsPrimaryKey();
        table.AddColumn<Guid>("subscription_id").NotNull();
        return table;
    }

    /// <summary>The lowest free slot below <paramref name="max"/>, or null when the key has no free slot.</summary>
    public static async Task<int?> FreeSlotAsync(Marten.IQuerySession session, string keyId, int max, CancellationToken ct)
    {
        var free = await session.AdvancedSql.QueryAsync<int>(
            $"select s from generate_series(0, ? - 1) s where not exists " +
            $"(select 1 from {In(session.DocumentStore.Options.DatabaseSchemaName)} k where k.key_id = ? and k.slot = s) order by s limit 1",
            ct, max, keyId);
        return free.Count == 0 ? null : free[0];
    }

    public static void QueueTake(Marten.IDocumentSession session, string keyId, int slot, Guid subscriptionId) =>
        session.QueueSqlCommand(
            $"insert into {In(session.DocumentStore.Options.DatabaseSchemaName)} (key_id, slot, subscription_id) values (?, ?, ?)",
            keyId, slot, subscriptionId);

    public static void QueueFree(Marten.IDocumentSession session, Guid subscriptionId) =>
        session.QueueSqlCommand($"delete from {In(session.DocumentStore.Options.DatabaseSchemaName)} where subscription_id = ?", subscriptionId);

    public static bool IsTaken(Exception e) =>
        (e as Npgsql.PostgresException ?? e.InnerException as Npgsql.PostgresException) is { SqlState: "23505" } p && p.TableName == Name;
}
