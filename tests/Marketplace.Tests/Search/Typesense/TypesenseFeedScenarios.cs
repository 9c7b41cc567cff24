using System.Text.Json.Nodes;
using Marketplace.Functions.Search.Typesense;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static Marketplace.Tests.Search.Typesense.TypesenseFixture;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Search.Typesense;

/// <summary>
/// The feed end to end: publishes, yanks and downloads go through the HTTP API, the async daemon runs the Marten
/// subscription, and the in-test Typesense sees the imports — including while it refuses them.
/// </summary>
public sealed class TypesenseFeedScenarios(TypesenseFixture fixture) : IClassFixture<TypesenseFixture>
{
    private FakeTypesense Typesense => fixture.Typesense;

    private static PackageManifest Manifest(string description = "Parses JSON fast") => new(
        Description: description,
        Authors: ["Ada <ada@example.com>"],
        License: "MIT",
        Keywords: ["json", "parser"],
        Categories: ["encoding"]);

    private async Task<Published> Publish(string name, string version = "1.0.0", StatementSigner? owner = null, PackageManifest? manifest = null)
    {
        owner ??= StatementSigner.Generate();
        var blob = RandomBlob(256);
        var result = await fixture.Host.Scenario(s =>
        {
            s.Put.Json(PublishBody(owner, Statement(name, version, blob, manifest: manifest ?? Manifest()), blob)).ToUrl($"/v1/packages/{name}/{version}");
            s.StatusCodeShouldBe(201);
        });
        var sequence = System.Text.Json.JsonDocument.Parse(await result.ReadAsTextAsync()).RootElement.GetProperty("sequence").GetInt64();
        return new Published(name, version, blob, owner, sequence);
    }

    private async Task<long> Yank(Published p, string version)
    {
        var body = await fixture.Host.GetJsonFromPost($"/v1/packages/{p.Name}/{version}/yank", YankBody(p.Owner, "yank", p.Name, version), 200);
        return body.GetProperty("sequence").GetInt64();
    }

    private Task Indexed(string name, Func<JsonObject, bool>? state = null, int seconds = 30) =>
        Eventually(() => Typesense.Document("packages", name) is { } d && (state?.Invoke(d) ?? true), $"{name} indexed as expected", seconds);

    private Task FeedReached(long sequence, int seconds = 30) =>
        Eventually(async () => await fixture.FeedProgressAsync() >= sequence, $"the feed's progression reaches {sequence}", seconds);

    [Fact]
    public async Task the_first_start_created_the_collection_and_pointed_the_alias_at_it()
    {
        var requests = Typesense.Requests;
        Assert.Equal(("GET", "/health", 200), (requests[0].Method, requests[0].Path, requests[0].Status));
        Assert.Equal(("GET", "/aliases/packages", 404), (requests[1].Method, requests[1].Path, requests[1].Status));
        var create = requests[2];
        Assert.Equal(("POST", "/collections", 201), (create.Method, create.Path, create.Status));
        var collection = JsonNode.Parse(create.Body)!["name"]!.GetValue<string>();
        Assert.Matches(@"\Apackages_\d{17}\z", collection);
        Assert.Equal(("PUT", "/aliases/packages", $$"""{"collection_name":"{{collection}}"}"""), (requests[3].Method, requests[3].Path, requests[3].Body));
        Assert.All(requests.Take(4), r => Assert.Equal(FakeTypesense.Key, r.ApiKey));
    }

    [Fact]
    public async Task a_publish_through_http_is_imported_as_its_document_through_the_alias()
    {
        var name = UniqueName("json");
        var published = await Publish(name, "1.2.0");

        await Indexed(name);
        await FeedReached(published.Sequence);

        var import = Typesense.ImportsOf(name)[0];
        Assert.Equal(("POST", "/collections/packages/documents/import", FakeTypesense.Key), (import.Method, import.Path, import.ApiKey));
        Assert.Equal(new Dictionary<string, string> { ["action"] = "upsert" }, import.Query);
        Assert.StartsWith("text/plain", import.ContentType, StringComparison.Ordinal);
        var line = Assert.Single(import.JsonLines, l => l["id"]!.GetValue<string>() == name);
        var updatedAt = line["updated_at"]!.GetValue<long>();
        Assert.InRange(DateTimeOffset.FromUnixTimeSeconds(updatedAt), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        var expected = JsonNode.Parse($$"""
            {"id":"{{name}}","name":"{{name}}","display_name":"{{name}}","version":"1.2.0","description":"Parses JSON fast",
             "keywords":["json","parser"],"categories":["encoding"],"authors":["Ada <ada@example.com>"],"license":"MIT",
             "downloads":0,"updated_at":{{updatedAt}}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, line), line.ToJsonString());
    }

    [Fact]
    public async Task a_download_reaches_the_document_total()
    {
        var name = UniqueName("dl");
        await Publish(name);
        await Indexed(name);

        await fixture.Host.DownloadAsync(name, "1.0.0");
        await fixture.Host.DownloadAsync(name, "1.0.0");

        await Indexed(name, d => d["downloads"]!.GetValue<long>() == 2);
    }

    [Fact]
    public async Task a_yanked_latest_shows_the_previous_version_and_yanking_the_only_one_left_removes_the_package()
    {
        var name = UniqueName("yank");
        var first = await Publish(name, "1.0.0", manifest: Manifest("first"));
        await Publish(name, "1.1.0", first.Owner, Manifest("second"));
        await Indexed(name, d => d["version"]!.GetValue<string>() == "1.1.0");

        await Yank(first, "1.1.0");
        await Indexed(name, d => d["version"]!.GetValue<string>() == "1.0.0" && d["description"]!.GetValue<string>() == "first");

        var last = await Yank(first, "1.0.0");
        await Eventually(() => Typesense.Document("packages", name) is null, $"{name} removed from the index");
        await FeedReached(last);
        Assert.Contains(Typesense.Requests, r => r is { Method: "DELETE", Path: "/collections/packages/documents" }
                                                 && r.Query["filter_by"] == $"id:[{name}]" && r.ApiKey == FakeTypesense.Key);
    }

    [Fact]
    public async Task a_rejected_document_is_sent_again_and_the_feed_never_moves_past_its_event_while_it_fails()
    {
        var name = UniqueName("reject");
        Typesense.Rejections[name] = "Field `license` must be a string.";
        var published = await Publish(name);

        // Three rounds in the first run of the page, then at least one more run after the daemon restarted the paused subscription.
        await Eventually(() => Typesense.ImportsOf(name).Count >= 4, "the rejected document was sent again after the page failed");
        Assert.True(await fixture.FeedProgressAsync() < published.Sequence, "the progression passed an event whose document Typesense had not accepted");
        Assert.Null(Typesense.Document("packages", name));

        Typesense.Rejections.TryRemove(name, out _);
        await Indexed(name);
        await FeedReached(published.Sequence);
    }

    [Fact]
    public async Task a_503_is_retried_and_the_feed_never_moves_past_its_event_while_typesense_is_unavailable()
    {
        var name = UniqueName("outage");
        Typesense.ImportOutages = 1_000_000;
        var published = await Publish(name);

        // One page run: 3 rounds × (1 + 2 retries) imports, then the daemon runs the page again.
        await Eventually(() => Typesense.Requests.Count(r => r.Path.EndsWith("/import", StringComparison.Ordinal) && r.Status == 503) >= 10,
            "imports were retried through the outage");
        Assert.True(await fixture.FeedProgressAsync() < published.Sequence, "the progression passed an event that was never imported");

        Typesense.ImportOutages = 0;
        // The daemon pauses a failed subscription before running it again, with a cool-down that grows with the
        // failures: on a loaded machine the recovery took longer than the usual 30 s bound once.
        await Indexed(name, seconds: 90);
        await FeedReached(published.Sequence, seconds: 90);
    }

    [Fact]
    public async Task search_through_http_queries_the_alias()
    {
        var before = Typesense.DocumentIds(Typesense.AliasTarget("packages")!).Count;
        var result = await fixture.Host.GetJson("/v1/search?q=serde%20json&keyword=json&sort=downloads&limit=5&offset=3");
        var after = Typesense.DocumentIds(Typesense.AliasTarget("packages")!).Count;

        var search = Typesense.Requests.Last(r => r.Path.EndsWith("/documents/search", StringComparison.Ordinal));
        Assert.Equal(("/collections/packages/documents/search", FakeTypesense.Key), (search.Path, search.ApiKey));
        Assert.Equal(("serde json", "keywords:=`json`", "downloads:desc", "3", "5"),
            (search.Query["q"], search.Query["filter_by"], search.Query["sort_by"], search.Query["offset"], search.Query["limit"]));
        // The fake answers every document of the collection: total is its `found`, not something made up.
        Assert.InRange(result.GetProperty("total").GetInt64(), before, after);
    }

    [Fact]
    public async Task a_search_while_typesense_fails_answers_503_unavailable_with_retry_after()
    {
        Typesense.SearchFailure = (503, "Not Ready or Lagging");
        try
        {
            var result = await fixture.Host.Scenario(s =>
            {
                s.Get.Url("/v1/search?q=serde");
                s.StatusCodeShouldBe(503);
            });
            var problem = System.Text.Json.JsonDocument.Parse(await result.ReadAsTextAsync()).RootElement;
            Assert.Equal("unavailable", problem.GetProperty("code").GetString());
            Assert.Equal("5", result.Context.Response.Headers.RetryAfter.ToString());
        }
        finally
        {
            Typesense.SearchFailure = null;
        }
    }

    [Fact]
    public async Task a_reindex_fills_a_new_collection_swaps_the_alias_and_drops_the_old_one()
    {
        var kept = UniqueName("kept");
        var gone = UniqueName("gone");
        await Publish(kept);
        var doomed = await Publish(gone);
        var last = await Yank(doomed, "1.0.0");
        await FeedReached(last);
        var old = Typesense.AliasTarget("packages")!;
        var before = Typesense.Requests.Count;

        var summary = await fixture.Host.Services.GetRequiredService<TypesenseCollections>().ReindexAsync(fixture.Store, default);

        var requests = Typesense.Requests.Skip(before).ToList();
        var fresh = summary.Collection;
        Assert.NotEqual(old, fresh);
        Assert.Matches(@"\Apackages_\d{17}\z", fresh);
        var create = requests.FindIndex(r => r is { Method: "POST", Path: "/collections" } && r.Body.Contains($"\"name\":\"{fresh}\"", StringComparison.Ordinal));
        var imports = requests.Select((r, i) => (r, i)).Where(x => x.r.Path == $"/collections/{fresh}/documents/import").ToList();
        var swap = requests.FindIndex(r => r is { Method: "PUT", Path: "/aliases/packages" } && r.Body == $$"""{"collection_name":"{{fresh}}"}""");
        var drop = requests.FindIndex(r => r.Method == "DELETE" && r.Path == $"/collections/{old}");
        Assert.True(create >= 0 && imports.Count > 0 && swap >= 0 && drop >= 0, "create, import, swap and drop were all sent");
        Assert.True(create < imports[0].i && imports[^1].i < swap && swap < drop, "in that order");
        Assert.All(imports, x => Assert.Equal("upsert", x.r.Query["action"]));
        var imported = imports.SelectMany(x => x.r.JsonLines).Select(l => l["id"]!.GetValue<string>()).ToList();
        Assert.Contains(kept, imported);
        Assert.DoesNotContain(gone, imported);

        Assert.Equal(fresh, Typesense.AliasTarget("packages"));
        Assert.DoesNotContain(old, Typesense.CollectionNames);
        Assert.NotNull(Typesense.Document("packages", kept));
        Assert.Null(Typesense.Document("packages", gone));
        Assert.Equal(summary.Previous, old);

        // The feed goes on writing through the alias, now into the new collection.
        var after = UniqueName("after");
        await Publish(after);
        await Indexed(after);
        Assert.NotNull(Typesense.Document(fresh, after));
    }

    [Fact]
    public void the_operator_command_is_search_reindex()
    {
        Assert.True(TypesenseReindex.IsRequested(["search-reindex"]));
        Assert.False(TypesenseReindex.IsRequested(["db-apply"]));
        Assert.False(TypesenseReindex.IsRequested([]));
    }
}
