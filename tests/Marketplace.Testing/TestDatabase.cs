using Npgsql;

namespace Marketplace.Testing;

/// <summary>
/// The suite's one PostgreSQL (infra/test exports <c>MARKETPLACE_TEST_PG</c>; the default matches infra/lib.sh). Every
/// host under test gets a schema of its own, so fixtures run in parallel and counts are exact.
/// </summary>
public static class TestDatabase
{
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("MARKETPLACE_TEST_PG")
        ?? "Host=127.0.0.1;Port=5432;Database=marketplace_test;Username=marketplace;Password=marketplace;SSL Mode=Disable;Maximum Pool Size=20";

    /// <summary>A schema name no other fixture uses: <paramref name="prefix"/> and 12 random hex digits.</summary>
    public static string NewSchema(string prefix) => prefix + Guid.NewGuid().ToString("n")[..12];

    public static async Task DropSchemaAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"drop schema if exists {schema} cascade", connection);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>Runs SQL naming the schema <c>{schema}</c> in its text, with positional parameters; the rows it changed.</summary>
    public static async Task<int> ExecuteAsync(string schema, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql.Replace("{schema}", schema, StringComparison.Ordinal), connection);
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        return await command.ExecuteNonQueryAsync();
    }
}
