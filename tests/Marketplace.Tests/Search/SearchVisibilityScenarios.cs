using System.Text.Json;
using Marketplace.Functions.Serverless;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Packages;
using Marketplace.Projections.Search;
using Marketplace.Tests.Support;
using Marten;

namespace Marketplace.Tests.Search;

/// <summary>
/// On a deployed-function host (no daemon in-process, schema from db-apply): a version's <c>searchVisible</c>
/// follows the search projection's progress, and a search rebuild from the log gives the same documents.
/// </summary>
[Collection("projections function")]
public sealed class SearchVisibilityScenarios(ProjectionsFunctionFixture fixture)
{
    [Fact]
    public async Task a_version_says_whether_search_shows_it_yet()
    {
        var published = await fixture.Host.PublishedPackage(name: Support.Packages.UniqueName("visible"));
        using (var daemon = await fixture.Store.BuildProjectionDaemonAsync())
            await daemon.RebuildProjectionAsync<VersionDocumentProjection>(CancellationToken.None);

        var before = await fixture.Host.GetJson($"/v1/packages/{published.Name}/{published.Version}");
        Assert.False(before.GetProperty("searchVisible").GetBoolean());
        Assert.DoesNotContain(await Names($"?q={published.Name}"), n => n == published.Name);

        await CatchUp();

        var after = await fixture.Host.GetJson($"/v1/packages/{published.Name}/{published.Version}");
        Assert.True(after.GetProperty("searchVisible").GetBoolean());
        Assert.Equal(published.Name, (await Names($"?q={published.Name}"))[0]);
    }

    [Fact]
    public async Task a_rebuilt_search_index_equals_the_incrementally_built_one()
    {
        var owner = Marketplace.Signing.StatementSigner.Generate();
        var name = Support.Packages.UniqueName("rebuild");
        await fixture.Host.PublishedPackage(name: name, version: "1.0.0", owner: owner);
        await fixture.Host.PublishedPackage(name: name, version: "1.1.0", owner: owner);
        await fixture.Host.Scenario(s =>
        {
            s.Post.Json(Support.Packages.YankBody(owner, "yank", name, "1.1.0")).ToUrl($"/v1/packages/{name}/1.1.0/yank");
            s.StatusCodeShouldBe(200);
        });
        for (var i = 0; i < 4; i++) await fixture.Host.DownloadAsync(name, "1.0.0");
        await CatchUp();
        var incremental = await Rows();
        Assert.Contains(incremental, r => r.StartsWith($"{name}|1.0.0|", StringComparison.Ordinal) && r.Contains("|4|", StringComparison.Ordinal));

        using (var daemon = await fixture.Store.BuildProjectionDaemonAsync())
            await daemon.RebuildProjectionAsync(SearchProjection.ProjectionName, CancellationToken.None);

        Assert.Equal(incremental, await Rows());
    }

    [Fact]
    public async Task download_totals_reach_search_from_the_download_counters_alone()
    {
        var downloaded = await fixture.Host.PublishedPackage(name: Support.Packages.UniqueName("counted"));
        var quiet = await fixture.Host.PublishedPackage(name: Support.Packages.UniqueName("counted"));
        await CatchUp();
        await using var embedded = await fixture.StartInstanceAsync(SearchFixture.Embedded);
        await SearchFixture.WaitUntilReadyAsync(embedded);
        Assert.Equal(0, await Downloads(embedded, downloaded.Name));
        for (var i = 0; i < 3; i++) await fixture.Host.DownloadAsync(downloaded.Name, downloaded.Version);
        var search = await Progress(SearchProjection.ProgressionName);

        // Only the counters run (rebuilt from the log: emptied, then refolded); search reads no download and does not move.
        using (var daemon = await fixture.Store.BuildProjectionDaemonAsync())
            await daemon.RebuildProjectionAsync(DownloadCountsProjection.ProjectionName, CancellationToken.None);
        Assert.Equal(search, await Progress(SearchProjection.ProgressionName));

        Assert.Equal(3, await Downloads(fixture.Host, downloaded.Name));
        // A package nobody downloaded keeps its totals row through the rebuild (from its publish): search still finds it.
        Assert.Equal(0, await Downloads(fixture.Host, quiet.Name));
        // An embedded index follows the counters' progression as well as search's.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (await Downloads(embedded, downloaded.Name) != 3)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the embedded index did not take the new totals in 20 s");
            await Task.Delay(50);
        }
        Assert.Equal(0, await Downloads(embedded, quiet.Name));
    }

    private static async Task<long> Downloads(Alba.IAlbaHost host, string name) =>
        (await host.GetJson($"/v1/search?q={name}")).GetProperty("hits").EnumerateArray()
            .Single(h => h.GetProperty("name").GetString() == name).GetProperty("downloads").GetInt64();

    private async Task<long> Progress(string progression)
    {
        await using var session = fixture.Store.QuerySession();
        return (await session.QueryAsync<long>(
            $"select coalesce((select last_seq_id from {fixture.Schema}.mt_event_progression where name = ?), 0)", progression))[0];
    }

    private async Task CatchUp() => await fixture.Host.Scenario(s =>
    {
        s.Post.Text("{}").ToUrl(ProjectionCatchUp.Path);
        s.WithRequestHeader("Content-Type", "application/json");
        s.StatusCodeShouldBe(200);
    });

    private async Task<List<string>> Names(string query) =>
        (await fixture.Host.GetJson("/v1/search" + query)).GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("name").GetString()!).ToList();

    private async Task<IReadOnlyList<string>> Rows()
    {
        await using var session = fixture.Store.QuerySession();
        var rows = await session.QueryAsync<string>(
            $"select concat_ws('|', name, version, description, keywords::text, categories::text, authors::text, license, (select downloads from {DownloadCountsProjection.TotalsTableIn(fixture.Schema)} d where d.name = t.name), updated_at, visible, (select e.entry::text from {SearchProjection.EntriesTableIn(fixture.Schema)} e where e.name = t.name), document::text) " +
            $"from {SearchProjection.TableIn(fixture.Schema)} t order by name");
        var facets = await session.QueryAsync<string>(
            $"select concat_ws('|', facet, value, count) from {SearchProjection.FacetsTableIn(fixture.Schema)} where count <> 0 order by facet, value");
        Assert.Contains($"{SearchProjection.TotalFacet}||{rows.Count(r => r.Contains("|t|", StringComparison.Ordinal))}", facets);
        return [.. rows, .. facets];
    }
}
