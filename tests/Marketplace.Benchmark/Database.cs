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

    /// <summary>Whether <paramref name="schema"/> holds an event store (a service has run on it).</summary>
    public static async Task<bool> HasEventsTableAsync(string schema, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("select to_regclass(@table) is not null", connection);
        command.Parameters.AddWithValue("table", $"\"{schema}\".mt_events");
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// How far the async daemon has read the event log: the highest sequence in <c>mt_events</c> and each
    /// projection's or subscription's last applied sequence (<c>mt_event_progression</c> rows named <c>Name:Shard</c>: not the high-water mark, nor the daemon's own bookkeeping rows such as <c>HighWaterStuckGap</c>).
    /// </summary>
    public static async Task<(long HighestSequence, IReadOnlyDictionary<string, long> Progress)> ProgressionAsync(string schema, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(ct);
        await using var highest = new NpgsqlCommand($"select coalesce(max(seq_id), 0) from \"{schema}\".mt_events", connection);
        var top = (long)(await highest.ExecuteScalarAsync(ct))!;
        await using var command = new NpgsqlCommand($"select name, last_seq_id from \"{schema}\".mt_event_progression where name like '%:%' order by name", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var progress = new Dictionary<string, long>();
        while (await reader.ReadAsync(ct))
            progress[reader.GetString(0)] = reader.GetInt64(1);
        return (top, progress);
    }

    /// <summary>
    /// What the search phase loaded into a schema, recorded once the load and the catch-up were complete, with the
    /// fingerprint of the projections' sources that built its read models.
    /// </summary>
    internal sealed record CorpusMarker(int Packages, int Seed, long MaxDownloads, long Downloads, int Visible, DateTimeOffset LoadedAt, string? Projections);

    private const string MarkerTable = "bench_search_corpus";

    public static async Task<CorpusMarker?> ReadCorpusMarkerAsync(string schema, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(ct);
        await using (var exists = new NpgsqlCommand("select to_regclass(@table) is not null", connection))
        {
            exists.Parameters.AddWithValue("table", $"\"{schema}\".{MarkerTable}");
            if (!(bool)(await exists.ExecuteScalarAsync(ct))!) return null;
        }
        // As JSON, so that a marker written before a column existed still reads (the column as null).
        await using var command = new NpgsqlCommand($"select to_jsonb(m)::text from \"{schema}\".{MarkerTable} m order by loaded_at desc limit 1", connection);
        return await command.ExecuteScalarAsync(ct) is string json
            ? System.Text.Json.JsonSerializer.Deserialize<CorpusMarker>(json, MarkerJson)
            : null;
    }

    private static readonly System.Text.Json.JsonSerializerOptions MarkerJson = new() { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower };

    public static async Task WriteCorpusMarkerAsync(string schema, CorpusMarker marker, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
             create table if not exists "{schema}".{MarkerTable} (packages int not null, seed int not null, max_downloads bigint not null,
                 downloads bigint not null, visible int not null, loaded_at timestamptz not null);
             alter table "{schema}".{MarkerTable} add column if not exists projections text;
             insert into "{schema}".{MarkerTable} (packages, seed, max_downloads, downloads, visible, loaded_at, projections)
                 values (@packages, @seed, @max, @downloads, @visible, @at, @projections);
             """, connection);
        command.Parameters.AddWithValue("packages", marker.Packages);
        command.Parameters.AddWithValue("seed", marker.Seed);
        command.Parameters.AddWithValue("max", marker.MaxDownloads);
        command.Parameters.AddWithValue("downloads", marker.Downloads);
        command.Parameters.AddWithValue("visible", marker.Visible);
        command.Parameters.AddWithValue("at", marker.LoadedAt);
        command.Parameters.AddWithValue("projections", (object?)marker.Projections ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(ct);
    }

    public static async Task DropSchemaAsync(string schema, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"drop schema if exists \"{schema}\" cascade", connection);
        await command.ExecuteNonQueryAsync(ct);
    }
}
