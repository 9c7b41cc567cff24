using System.Text;
using System.Text.Json;
using Alba;
using Marketplace.Functions.Audit;
using Marketplace.Functions.Serverless;
using Marketplace.Functions.Transparency;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Search;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marten;

namespace Marketplace.Tests.Audit;

/// <summary>
/// Rebuilds and replays, on a deployed-function host (no daemon in-process): the operator's rebuild of every
/// projection gives the read models it replaced, document for document; and a mirror made from <c>GET /v1/events</c>
/// alone, imported into an empty registry, serves the same packages, versions, downloads and search.
/// </summary>
[Collection("projections function")]
public sealed class ReplayScenarios(ProjectionsFunctionFixture fixture)
{
    private async Task<List<string>> HistoryAsync()
    {
        var names = new List<string>();
        for (var p = 0; p < 3; p++)
        {
            var owner = StatementSigner.Generate();
            var name = Support.Packages.UniqueName("replay");
            names.Add(name);
            var manifest = Support.Packages.Manifest() with { Description = $"Replayed package number {p}", Keywords = ["replay", $"k{p}"] };
            foreach (var version in new[] { "1.0.0", "1.1.0", "2.0.0-beta.1" })
            {
                var blob = Support.Packages.RandomBlob(2048);
                await fixture.Host.Scenario(s =>
                {
                    s.Put.Json(Support.Packages.PublishBody(owner, Support.Packages.Statement(name, version, blob, manifest: manifest), blob)).ToUrl($"/v1/packages/{name}/{version}");
                    s.StatusCodeShouldBe(201);
                });
            }
            await fixture.Host.Scenario(s =>
            {
                s.Post.Json(Support.Packages.YankBody(owner, "yank", name, "1.1.0")).ToUrl($"/v1/packages/{name}/1.1.0/yank");
                s.StatusCodeShouldBe(200);
            });
            await fixture.Host.Scenario(s =>
            {
                s.Post.Json(Support.Packages.OwnersBody(owner, "add", name, StatementSigner.Generate().Owner)).ToUrl($"/v1/packages/{name}/owners");
                s.StatusCodeShouldBe(200);
            });
            for (var d = 0; d <= p; d++) await fixture.Host.DownloadAsync(name, "1.0.0");
        }
        await CatchUp(fixture.Host);
        return names;
    }

    private static async Task CatchUp(IAlbaHost host) => await host.Scenario(s =>
    {
        s.Post.Text("{}").ToUrl(ProjectionCatchUp.Path);
        s.WithRequestHeader("Content-Type", "application/json");
        s.StatusCodeShouldBe(200);
    });

    [Fact]
    public async Task the_operator_rebuild_gives_every_read_model_back_document_for_document()
    {
        await HistoryAsync();
        var before = await SnapshotAsync();
        Assert.True(before.Count > 20);

        var names = RebuildCommand.AsyncProjectionNames(fixture.Store);
        Assert.Contains(TransparencyLogProjection.ProjectionName, names);
        Assert.Contains(SearchProjection.ProjectionName, names);
        await RebuildCommand.RebuildAsync(fixture.Store, names, CancellationToken.None);

        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task a_mirror_of_the_feed_imported_into_an_empty_registry_serves_the_same_answers()
    {
        var names = await HistoryAsync();
        var feed = new StringBuilder();
        long after = 0;
        while (true)
        {
            var result = await fixture.Host.Scenario(s => s.Get.Url($"/v1/events?after={after}&limit=50"));
            feed.Append(await result.ReadAsTextAsync());
            var last = long.Parse(result.Context.Response.Headers["X-Last-Sequence"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
            if (last == after) break;
            after = last;
        }

        await using var mirror = new MirrorFixture();
        await mirror.InitializeAsync();
        using (var reader = new StringReader(feed.ToString()))
            await MirrorImport.ImportAsync(mirror.Store, MirrorImport.LinesOf(reader), CancellationToken.None);
        await CatchUp(mirror.Host);

        foreach (var name in names)
        {
            Assert.Equal(await Json(fixture.Host, $"/v1/packages/{name}"), await Json(mirror.Host, $"/v1/packages/{name}"));
            foreach (var version in new[] { "1.0.0", "1.1.0", "2.0.0-beta.1" })
                Assert.Equal(await Json(fixture.Host, $"/v1/packages/{name}/{version}"), await Json(mirror.Host, $"/v1/packages/{name}/{version}"));
            Assert.Equal(await Json(fixture.Host, $"/v1/packages/{name}/downloads"), await Json(mirror.Host, $"/v1/packages/{name}/downloads"));
            Assert.Equal(await Json(fixture.Host, $"/v1/packages/{name}/owners"), await Json(mirror.Host, $"/v1/packages/{name}/owners"));
        }
        Assert.Equal(await Json(fixture.Host, $"/v1/search?q={names[0]}"), await Json(mirror.Host, $"/v1/search?q={names[0]}"));
    }

    private static async Task<string> Json(IAlbaHost host, string url) => (await host.GetJson(url)).GetRawText();

    private Task<List<string>> SnapshotAsync() => ReadModelSnapshot.TakeAsync(fixture.Store, fixture.Schema);

    /// <summary>An empty registry keeping the imported events' times, with no daemon, like the fixture it mirrors.</summary>
    private sealed class MirrorFixture() : MarketplaceFixture((HostProfile.Default with { Daemon = false })
        .With(("Marten:AppendMode", "QuickWithServerTimestamps"), ("Projections:CatchUpEndpoint", "true"))), IAsyncDisposable
    {
        async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();
    }
}
