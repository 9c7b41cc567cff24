using System.Text;
using Alba;
using Marketplace.Functions.Serverless;
using Marketplace.Functions.Transparency;
using Marketplace.Signing;
using Marketplace.Testing;
using Marketplace.Tests.Support;
using Marketplace.Transparency;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Marten.Events;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Marketplace.Tests.Transparency;

/// <summary>
/// The deployment's two roles on one schema: db-apply as the owner (the suite's role) with <c>Database:AppRole</c>,
/// then the whole app — daemon, log projection, outbox, dispatcher — as <c>marketplace_app</c> (created by infra/lib.sh),
/// with no schema work at start.
/// </summary>
public sealed class AppRoleFixture : IAsyncLifetime
{
    public const string AppRole = "marketplace_app";

    public string Schema { get; } = "t_" + Guid.NewGuid().ToString("n")[..12];
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "mkt-blobs-" + Guid.NewGuid().ToString("n")[..12]);
    public IAlbaHost Host { get; private set; } = null!;

    public static string AppConnection => new NpgsqlConnectionStringBuilder(TestEnvironment.Postgres) { Username = AppRole, Password = AppRole }.ConnectionString;

    public async Task InitializeAsync()
    {
        var common = new Dictionary<string, string?>
        {
            ["Marten:Schema"] = Schema,
            ["Blobs:Store"] = "file",
            ["Blobs:File:Root"] = Root,
            ["Reads:CacheFor"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Marten:ApplySchemaOnStartup"] = "false",
        };
        await using (var owner = await AlbaHost.For<Program>(b =>
        {
            foreach (var (k, v) in common) b.UseSetting(k, v);
            b.UseSetting("ConnectionStrings:Marketplace", TestEnvironment.Postgres);
            b.UseSetting("Marten:Daemon", "Disabled");
        }))
        {
            await SchemaCommand.ApplyAsync(owner.Services.GetRequiredService<IDocumentStore>(), AppRole, CancellationToken.None);
        }
        Host = await AlbaHost.For<Program>(b =>
        {
            foreach (var (k, v) in common) b.UseSetting(k, v);
            b.UseSetting("ConnectionStrings:Marketplace", AppConnection);
            b.UseSetting("Webhooks:AllowPrivateNetworks", "true");
        });
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        await TestDatabase.DropSchemaAsync(Schema);
    }
}

[CollectionDefinition("app role")]
public sealed class AppRoleCollection : ICollectionFixture<AppRoleFixture>;

/// <summary>History that cannot be rewritten by the role the functions run as, and log bytes stored once.</summary>
[Collection("app role")]
public sealed class HistoryRoleScenarios(AppRoleFixture fixture)
{
    private IAlbaHost Host => fixture.Host;

    private static async Task<PostgresException> Refused(string sql)
    {
        await using var connection = new NpgsqlConnection(AppRoleFixture.AppConnection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task the_app_role_runs_the_registry_but_cannot_update_or_delete_events_or_log_rows()
    {
        var p = await Host.PublishedPackage();
        await Host.PublishedPackage(p.Name, "1.1.0", p.Owner);
        await Host.DownloadAsync(p.Name, "1.1.0");
        await Host.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));
        var checkpoint = await Host.GetJson("/v1/log/checkpoint");
        Assert.True(checkpoint.GetProperty("treeSize").GetInt64() >= 3, "owner added and two publishes are logged by the app role's daemon");
        Assert.Equal(2, (await Host.GetJson($"/v1/packages/{p.Name}")).GetProperty("versions").GetArrayLength());

        var s = fixture.Schema;
        foreach (var sql in new[]
        {
            $"update {s}.mt_events set data = '{{}}'::jsonb",
            $"delete from {s}.mt_events",
            $"truncate {s}.mt_events",
            $"update {s}.mkt_tlog_leaves set hash = '\\x00'::bytea",
            $"delete from {s}.mkt_tlog_leaves",
            $"update {s}.mkt_tlog_nodes set hash = '\\x00'::bytea",
            $"delete from {s}.mkt_tlog_nodes",
            $"update {s}.mkt_log_entries set entry = '\\x00'::bytea",
            $"delete from {s}.mkt_log_entries",
        })
        {
            var refused = await Refused(sql);
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }
        Assert.True(checkpoint.GetProperty("treeSize").GetInt64() <= (await Host.GetJson("/v1/log/checkpoint")).GetProperty("treeSize").GetInt64());
    }

    [Fact]
    public async Task feed_lines_are_the_entries_the_log_stored_not_a_fresh_serialisation()
    {
        var p = await Host.PublishedPackage();
        await Host.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));
        var feed = await (await Host.Scenario(s => s.Get.Url($"/v1/packages/{p.Name}/events"))).ReadAsTextAsync();
        var lines = feed.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // As an older serializer might have written it: the same event, other bytes. The owner can still repair or
        // migrate entries; the feed must serve whatever is stored, byte for byte.
        await using var owner = new NpgsqlConnection(TestEnvironment.Postgres);
        await owner.OpenAsync();
        var sequence = p.Sequence;
        var stored = Encoding.UTF8.GetBytes(lines[^1].Replace("{", "{ ", StringComparison.Ordinal));
        await using (var rewrite = new NpgsqlCommand($"update {fixture.Schema}.mkt_log_entries set entry = $1 where sequence = $2", owner)
        {
            Parameters = { new() { Value = stored }, new() { Value = sequence } },
        })
        {
            Assert.Equal(1, await rewrite.ExecuteNonQueryAsync());
        }

        var served = await (await Host.Scenario(s => s.Get.Url($"/v1/packages/{p.Name}/events"))).ReadAsTextAsync();
        Assert.Equal(Encoding.UTF8.GetString(stored), served.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        var all = await (await Host.Scenario(s => s.Get.Url($"/v1/events?after={sequence - 1}&limit=1"))).ReadAsTextAsync();
        Assert.Equal(Encoding.UTF8.GetString(stored) + "\n", all);

        // The leaf was hashed over the bytes stored when the projection applied the event.
        var leaf = await Host.GetJson($"/v1/log/proof/inclusion?sequence={sequence}");
        Assert.Equal(Convert.ToBase64String(MerkleTree.LeafHash(Encoding.UTF8.GetBytes(lines[^1]))), leaf.GetProperty("leafHash").GetString());
    }
}
