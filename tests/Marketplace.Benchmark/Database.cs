using Npgsql;

namespace Marketplace.Benchmark;

/// <summary>The benchmark's own look at PostgreSQL: its database, the event counts of its schema, cleanup.</summary>
internal static class Database
{
    public const string Name = "marketplace_bench";

    public static string ConnectionString(string database = Name) =>
        $"Host=127.0.0.1;Port=5432;Database={database};Username=marketplace;Password=marketplace;SSL Mode=Disable;Maximum Pool Size=64";

    /// <summary>Creates <see cref="Name"/> if missing (the role marketplace has CREATEDB).</summary>
    public static async Task<bool> EnsureDatabaseAsync(CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync(ct);
        await using (var exists = new NpgsqlCommand("select 1 from pg_database where datname = @name", connection))
        {
            exists.Parameters.AddWithValue("name", Name);
            if (await exists.ExecuteScalarAsync(ct) is not null) return false;
        }
        try
        {
            await using var create = new NpgsqlCommand($"create database \"{Name}\"", connection);
            await create.ExecuteNonQueryAsync(ct);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            return false;
        }
    }

    /// <summary>Event count per Marten type name in <c>&lt;schema&gt;.mt_events</c>.</summary>
    public static async Task<IReadOnlyDictionary<string, long>> CountEventsByTypeAsync(string schema, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"select type, count(*) from \"{schema}\".mt_events group by type order by type", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var counts = new Dictionary<string, long>();
        while (await reader.ReadAsync(ct))
            counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }

    public static async Task<long> CountEventsAsync(string schema, string type, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"select count(*) from \"{schema}\".mt_events where type = @type", connection);
        command.Parameters.AddWithValue("type", type);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public static async Task DropSchemaAsync(string schema, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"drop schema if exists \"{schema}\" cascade", connection);
        await command.ExecuteNonQueryAsync(ct);
    }
}
