using System.Text.RegularExpressions;
using Npgsql;

namespace Marketplace.Functions.Serverless;

/// <summary>
/// Two database roles. The functions connect as the application role (<c>ConnectionStrings:Marketplace</c>), which may
/// append events and log rows but never rewrite them; the operator commands (<c>db-apply</c>, <c>projections-rebuild</c>,
/// <c>events-import</c>) connect as the owner role (<c>ConnectionStrings:MarketplaceOwner</c>), which owns the schema.
/// <c>db-apply</c> grants the application role (<c>Database:AppRole</c>) what the functions and the daemon use: every
/// table of the schema for reading and writing (documents, read models, projection tables, the daemon's progression,
/// streams, outbox, leases, receipts), its sequences and functions — and then takes UPDATE, DELETE and TRUNCATE back on
/// the history: events and the transparency log's leaves, nodes and entries.
/// </summary>
public static partial class DatabaseRoles
{
    public const string OwnerConnectionStringKey = "MarketplaceOwner";
    public const string AppRoleKey = "Database:AppRole";

    /// <summary>Tables the application role may read and append to, never change or empty.</summary>
    public static readonly IReadOnlyList<string> HistoryTables =
        ["mt_events", "mkt_tlog_leaves", "mkt_tlog_nodes", Transparency.TransparencyLogProjection.EntriesTable];

    /// <summary>For an operator command, <c>ConnectionStrings:MarketplaceOwner</c> (when set) replaces the functions' connection.</summary>
    public static void UseOwnerConnectionForOperatorCommands(this ConfigurationManager configuration, string[] args)
    {
        var operatorCommand = SchemaCommand.IsRequested(args) || RebuildCommand.IsRequested(args) || Audit.MirrorImport.IsRequested(args);
        if (operatorCommand && configuration.GetConnectionString(OwnerConnectionStringKey) is { Length: > 0 } owner)
            configuration["ConnectionStrings:" + DatabaseConnection.ConnectionStringKey] = owner;
    }

    /// <summary>Grants <paramref name="role"/> the application's privileges on <paramref name="schema"/> (idempotent; run after every
    /// migration).</summary>
    public static async Task GrantAsync(NpgsqlConnection connection, string schema, string role, CancellationToken ct)
    {
        if (!Identifier().IsMatch(role))
            throw new InvalidOperationException($"{AppRoleKey} must be a plain role name (letters, digits, _): '{role}'.");
        if (!Identifier().IsMatch(schema)) throw new InvalidOperationException($"The schema name must be a plain identifier: '{schema}'.");
        var history = new List<string>();
        await using (var existing = new NpgsqlCommand(
            "select table_name::text from information_schema.tables where table_schema = $1 and table_name = any($2)", connection)
        {
            Parameters = { new() { Value = schema }, new() { Value = HistoryTables.ToArray() } },
        })
        await using (var reader = await existing.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) history.Add($"{schema}.{reader.GetString(0)}");
        }
        var sql = $"""
            grant usage on schema {schema} to {role};
            grant select, insert, update, delete on all tables in schema {schema} to {role};
            grant usage, select, update on all sequences in schema {schema} to {role};
            grant execute on all functions in schema {schema} to {role};
            """ + (history.Count > 0 ? $"\nrevoke update, delete, truncate on {string.Join(", ", history)} from {role};" : "");
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var grant = new NpgsqlCommand(sql, connection, transaction))
            await grant.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex Identifier();
}
