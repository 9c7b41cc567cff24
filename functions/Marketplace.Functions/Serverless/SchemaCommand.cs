using System.Diagnostics;
using Marten;
using JasperFx;

namespace Marketplace.Functions.Serverless;

/// <summary>
/// <c>Marketplace.Functions db-apply</c> (on Lambda's build: <c>bootstrap db-apply</c>): creates or updates every
/// table, function and sequence the store needs — events, documents, projection tables — and exits. Deployments
/// run it once before new code goes live, so functions start with <c>Marten:ApplySchemaOnStartup=false</c> and do
/// no schema work on a cold start. Changes are additive (Weasel's CreateOrUpdate), safe to repeat. Run as the owner role
/// (<c>ConnectionStrings:MarketplaceOwner</c>); with <c>Database:AppRole</c> set it then grants that role what the
/// functions need, never UPDATE or DELETE on events and log rows (<see cref="DatabaseRoles"/>).
/// </summary>
public static class SchemaCommand
{
    public const string Name = "db-apply";

    public static bool IsRequested(string[] args) => args is [Name, ..];

    public static async Task<int> RunAsync(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SchemaCommand));
        var store = app.Services.GetRequiredService<IDocumentStore>();
        var clock = Stopwatch.StartNew();
        try
        {
            await ApplyAsync(store, app.Configuration[DatabaseRoles.AppRoleKey], app.Lifetime.ApplicationStopping);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            logger.LogError(e, "db-apply failed for schema {Schema}", store.Options.DatabaseSchemaName);
            return 1;
        }
        logger.LogInformation("db-apply: schema {Schema} is up to date ({ElapsedMs} ms)",
            store.Options.DatabaseSchemaName, clock.ElapsedMilliseconds);
        return 0;
    }

    public static Task ApplyAsync(IDocumentStore store, CancellationToken ct) => ApplyAsync(store, null, ct);

    /// <summary>Applies the schema and, when <paramref name="appRole"/> is given, grants it the application's privileges.</summary>
    public static async Task ApplyAsync(IDocumentStore store, string? appRole, CancellationToken ct)
    {
        await store.Storage.Database.ApplyAllConfiguredChangesToDatabaseAsync(AutoCreate.CreateOrUpdate, null, ct);
        if (string.IsNullOrWhiteSpace(appRole)) return;
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await DatabaseRoles.GrantAsync(connection, store.Options.DatabaseSchemaName, appRole, ct);
    }
}
