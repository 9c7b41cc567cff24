using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics;
using Marketplace.Tests.Support;

namespace Marketplace.Tests.Packages;

/// <summary>
/// What the write paths send to PostgreSQL, read from Npgsql's own command spans (the SQL text of each command or
/// batch): the inline snapshots are folded from their own streams' events only.
/// </summary>
[Collection("file store")]
public sealed class WriteStatements(FileStoreFixture fixture)
{
    [Fact]
    public async Task a_publish_loads_and_writes_no_subscription_snapshot()
    {
        var first = await fixture.Host.PublishedPackage();
        var statements = await StatementsDuring(() => fixture.Host.PublishedPackage(first.Name, "1.1.0", first.Owner));

        Assert.Contains(statements, s => s.Contains($"{fixture.Schema}.mt_doc_packagestate", StringComparison.Ordinal));
        Assert.DoesNotContain(statements, s => s.Contains($"{fixture.Schema}.mt_doc_webhookstate", StringComparison.Ordinal));
    }

    [Fact]
    public void the_store_prepares_repeated_statements()
    {
        using var connection = fixture.Store.Storage.Database.CreateConnection();
        Assert.Equal(Functions.Serverless.DatabaseConnection.DefaultMaxAutoPrepare,
            new Npgsql.NpgsqlConnectionStringBuilder(connection.ConnectionString).MaxAutoPrepare);
    }

    [Fact]
    public void the_only_daemon_on_its_schema_wakes_itself_without_a_notify()
    {
        var wakeup = fixture.Host.Services.GetRequiredService<Functions.Infrastructure.AppendWakeup>();
        Assert.False(wakeup.NotifiesOthers);
    }

    /// <summary>The SQL of every command this fixture's schema saw while <paramref name="action"/> ran (the daemon's too).</summary>
    private async Task<IReadOnlyList<string>> StatementsDuring<T>(Func<Task<T>> action)
    {
        var seen = new List<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                var sql = activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string;
                if (sql is not null && sql.Contains(fixture.Schema, StringComparison.Ordinal))
                    lock (seen) seen.Add(sql);
            },
        };
        ActivitySource.AddActivityListener(listener);
        await action();
        lock (seen) return [.. seen];
    }
}
