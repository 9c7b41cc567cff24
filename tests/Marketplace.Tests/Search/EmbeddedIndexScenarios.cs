using System.Diagnostics;
using Alba;
using Marketplace.Functions.Search.Embedded;
using Marketplace.Projections.Search;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Marketplace.Tests.Search;

/// <summary>An instance as <c>infra/run</c> starts it: the embedded search index and the daemon in one process.</summary>
public sealed class EmbeddedIndexFixture() : MarketplaceFixture(HostProfile.Default.With(("Search:Adapter", "Embedded")))
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await SearchFixture.WaitUntilReadyAsync(Host);
    }
}

/// <summary>
/// The embedded index's life: not ready until loaded, current on every instance (with the daemon or without) within
/// moments of a publish, truthful <c>searchVisible</c>, and a freshly loaded index equal to one kept by the feed.
/// </summary>
public sealed class EmbeddedIndexScenarios(EmbeddedIndexFixture fixture) : IClassFixture<EmbeddedIndexFixture>
{
    [Fact]
    public async Task an_instance_is_not_ready_and_does_not_search_until_its_index_is_loaded()
    {
        // Hold the search documents locked: the new instance's load waits for them.
        await using var connection = new Npgsql.NpgsqlConnection(TestEnvironment.Postgres);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = new Npgsql.NpgsqlCommand($"lock table {SearchProjection.TableIn(fixture.Schema)} in access exclusive mode", connection, transaction))
            await command.ExecuteNonQueryAsync();
        await using var instance = await fixture.StartInstanceAsync(SearchFixture.Embedded);

        var (ready, readyCode, readyBody) = await instance.Send(s => s.Get.Url("/health/ready"));
        Assert.Equal((503, "unavailable"), (ready, readyCode));
        Assert.Contains("search: loading", readyBody.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var (search, searchCode, _) = await instance.Send(s => s.Get.Url("/v1/search?q=test"));
        Assert.Equal((503, "unavailable"), (search, searchCode));
        var (suggest, suggestCode, _) = await instance.Send(s => s.Get.Url("/v1/search/suggest?q=te"));
        Assert.Equal((503, "unavailable"), (suggest, suggestCode));

        await transaction.RollbackAsync();
        await SearchFixture.WaitUntilReadyAsync(instance);
        await instance.GetJson("/v1/search?q=test");
    }

    [Fact]
    public async Task a_publish_is_searchable_on_every_instance_as_soon_as_its_search_visible_says_so()
    {
        // A second instance without the daemon: it follows what the first one's daemon writes.
        await using var follower = await fixture.StartInstanceAsync(SearchFixture.Embedded);
        await SearchFixture.WaitUntilReadyAsync(follower);
        var clock = Stopwatch.StartNew();
        var published = await fixture.Host.PublishedPackage(name: Support.Packages.UniqueName("instant"));
        foreach (var instance in new[] { fixture.Host, follower })
        {
            // The version document is a read model too: 404 until its projection has it.
            while (await instance.Send(s => s.Get.Url($"/v1/packages/{published.Name}/{published.Version}")) is not (200, _, var version)
                   || !version.GetProperty("searchVisible").GetBoolean())
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "searchVisible did not turn true in 60 s");
                await Task.Delay(10);
            }
            // Visible means this instance's own index has applied the publish: its search shows it at once.
            Assert.Equal(published.Name, (await instance.GetJson($"/v1/search?q={published.Name}")).GetProperty("hits")[0].GetProperty("name").GetString());
            Assert.Equal(published.Name, (await instance.GetJson($"/v1/search/suggest?q={published.Name}")).GetProperty("suggestions")[0].GetProperty("name").GetString());
        }
    }

    [Fact]
    public async Task an_index_loaded_afresh_answers_exactly_as_the_one_kept_current_by_the_feed()
    {
        var owner = StatementSigner.Generate();
        var name = Support.Packages.UniqueName("fresh");
        var gone = Support.Packages.UniqueName("fresh");
        await fixture.Host.PublishedPackage(name: name, version: "1.0.0", owner: owner);
        await fixture.Host.PublishedPackage(name: name, version: "1.1.0", owner: owner);
        await fixture.Host.PublishedPackage(name: gone, version: "1.0.0", owner: owner);
        await Yank(owner, name, "1.1.0");
        await Yank(owner, gone, "1.0.0");
        for (var i = 0; i < 3; i++) await fixture.Host.DownloadAsync(name, "1.0.0");
        await fixture.WaitForProjectionsAsync();
        await CaughtUp(fixture.Host);

        await using var fresh = await fixture.StartInstanceAsync(SearchFixture.Embedded);
        await SearchFixture.WaitUntilReadyAsync(fresh);
        await CaughtUp(fresh);
        string[] queries =
        [
            "?q=fresh&limit=100", "?q=fresh&sort=recent", "?q=package+tests", "?sort=downloads&limit=100", "?limit=100&sort=recent",
            "?q=" + name, "?q=" + gone, "?category=testing&limit=100", "?q=tset", "?keyword=test&minDownloads=1",
        ];
        foreach (var query in queries)
            Assert.Equal((await fixture.Host.GetJson("/v1/search" + query)).GetRawText(), (await fresh.GetJson("/v1/search" + query)).GetRawText());
        Assert.Equal((await fixture.Host.GetJson("/v1/search/suggest?q=fresh")).GetRawText(), (await fresh.GetJson("/v1/search/suggest?q=fresh")).GetRawText());

        var live = (await fixture.Host.GetJson($"/v1/search?q={name}")).GetProperty("hits")[0];
        Assert.Equal(("1.0.0", 3), (live.GetProperty("version").GetString(), live.GetProperty("downloads").GetInt32()));
        Assert.DoesNotContain((await fixture.Host.GetJson($"/v1/search?q={gone}")).GetProperty("hits").EnumerateArray(), h => h.GetProperty("name").GetString() == gone);
    }

    private async Task Yank(StatementSigner owner, string name, string version) => await fixture.Host.Scenario(s =>
    {
        s.Post.Json(Support.Packages.YankBody(owner, "yank", name, version)).ToUrl($"/v1/packages/{name}/{version}/yank");
        s.StatusCodeShouldBe(200);
    });

    /// <summary>Until the instance's index has applied what the search projection has (bounded).</summary>
    private async Task CaughtUp(IAlbaHost instance)
    {
        var feed = instance.Services.GetRequiredService<EmbeddedIndexFeed>();
        for (var i = 0; i < 400; i++)
        {
            await using var connection = new Npgsql.NpgsqlConnection(TestEnvironment.Postgres);
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(
                $"select coalesce((select last_seq_id from {fixture.Schema}.mt_event_progression where name = '{SearchProjection.ProgressionName}'), 0)", connection);
            if (feed.Applied >= (long)(await command.ExecuteScalarAsync())!) return;
            await Task.Delay(25);
        }
        throw new TimeoutException("The embedded index did not catch up in 10 s.");
    }
}
