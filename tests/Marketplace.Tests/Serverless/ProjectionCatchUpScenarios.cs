using System.Text.Json;
using Marketplace.Functions.Serverless;
using Marketplace.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Marketplace.Tests.Serverless;

/// <summary>The projections function: no daemon in-process, read models appear when the scheduled catch-up runs.</summary>
[Collection("projections function")]
public sealed class ProjectionCatchUpScenarios(ProjectionsFunctionFixture fixture)
{
    private Alba.IAlbaHost Host => fixture.Host;

    private const string ScheduledEvent = """
        {"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",
         "account":"123456789012","time":"2025-01-01T00:01:00Z","region":"eu-west-1","resources":["arn:aws:events:eu-west-1:123456789012:rule/tick"],"detail":{}}
        """;

    [Fact]
    public void the_catch_up_routes_have_their_own_timeout_covering_the_deadline_and_the_maintenance_budget()
    {
        var options = Host.Services.GetRequiredService<ProjectionOptions>();
        var routes = Host.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IEndpointNameMetadata>()?.EndpointName is "CatchUpProjections")
            .ToList();
        Assert.Single(routes);
        Assert.All(routes, r => Assert.Equal(options.CatchUpDeadline + options.MaintenanceBudget + TimeSpan.FromSeconds(2),
            r.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Timeouts.RequestTimeoutPolicy>()?.Timeout));
        Assert.True(options.RouteTimeout > Marketplace.Functions.Protection.ProtectionServices.DefaultTimeout);
    }

    [Fact]
    public async Task a_read_model_appears_only_after_the_scheduled_catch_up()
    {
        var published = await Host.PublishedPackage();
        await NotProjectedYet(published.Name);

        var summary = await PostJson(ProjectionCatchUp.Path, ScheduledEvent);

        Assert.True(summary.GetProperty("caughtUp").GetBoolean());
        Assert.Equal("aws.events: Scheduled Event", summary.GetProperty("trigger").GetString());
        Assert.True(summary.GetProperty("highWaterMark").GetInt64() >= published.Sequence);
        var shards = summary.GetProperty("after").EnumerateArray().ToDictionary(s => s.GetProperty("shard").GetString()!, s => s.GetProperty("sequence").GetInt64());
        Assert.Contains(shards.Keys, s => s.Contains("PackageDocument", StringComparison.Ordinal));
        Assert.All(shards.Values, sequence => Assert.True(sequence >= published.Sequence));

        var package = await Host.GetJson($"/v1/packages/{published.Name}");
        Assert.Equal("1.0.0", package.GetProperty("latest").GetString());
        var version = await Host.GetJson($"/v1/packages/{published.Name}/1.0.0");
        Assert.Equal(published.Sha256, version.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task a_version_is_readable_as_soon_as_it_is_published_and_reads_the_same_once_projected()
    {
        var published = await Host.PublishedPackage();
        var yanked = await Host.PublishedPackage(published.Name, "1.1.0", published.Owner);
        await Host.Scenario(s =>
        {
            s.Post.Json(Support.Packages.YankBody(published.Owner, "yank", published.Name, "1.1.0", "broken build")).ToUrl($"/v1/packages/{published.Name}/1.1.0/yank");
            s.StatusCodeShouldBe(200);
        });
        // No daemon here and no catch-up yet: the documents do not exist, the package and its versions are read from the log.
        var packageBefore = await Host.GetJson($"/v1/packages/{published.Name}");
        Assert.Equal(["1.0.0", "1.1.0"], packageBefore.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        Assert.Equal("1.0.0", packageBefore.GetProperty("latest").GetString());
        var before = await Host.GetJson($"/v1/packages/{published.Name}/1.0.0");
        Assert.Equal(published.Sha256, before.GetProperty("sha256").GetString());
        Assert.False(before.GetProperty("searchVisible").GetBoolean());
        var yankedBefore = await Host.GetJson($"/v1/packages/{published.Name}/1.1.0");
        Assert.True(yankedBefore.GetProperty("yanked").GetBoolean());
        Assert.Equal("broken build", yankedBefore.GetProperty("yankedReason").GetString());
        await Host.GetJson($"/v1/packages/{published.Name}/9.9.9", 404);
        await Host.GetJson($"/v1/packages/never-published-{Guid.NewGuid():n}"[..40] + "/1.0.0", 404);

        await PostJson(ProjectionCatchUp.Path, ScheduledEvent);

        // The projected documents answer the same, field for field; only searchVisible has moved on.
        foreach (var (version, answer) in new[] { ("1.0.0", before), ("1.1.0", yankedBefore) })
        {
            var after = await Host.GetJson($"/v1/packages/{published.Name}/{version}");
            Assert.True(after.GetProperty("searchVisible").GetBoolean());
            Assert.Equal(Without(answer, "searchVisible"), Without(after, "searchVisible"));
        }
        Assert.Equal(yanked.Sha256, (await Host.GetJson($"/v1/packages/{published.Name}/1.1.0")).GetProperty("sha256").GetString());
        Assert.Equal(packageBefore.GetRawText(), (await Host.GetJson($"/v1/packages/{published.Name}")).GetRawText());

        // A document behind its stream (a version published since the catch-up) is not answered: the stream is folded.
        await Host.PublishedPackage(published.Name, "1.2.0", published.Owner);
        var behind = await Host.GetJson($"/v1/packages/{published.Name}");
        Assert.Equal("1.2.0", behind.GetProperty("latest").GetString());
        await PostJson(ProjectionCatchUp.Path, ScheduledEvent);
        Assert.Equal(behind.GetRawText(), (await Host.GetJson($"/v1/packages/{published.Name}")).GetRawText());
    }

    /// <summary>No catch-up has applied the package yet: it is readable (folded from the log) but not in search.</summary>
    private async Task NotProjectedYet(string name)
    {
        Assert.False((await Host.GetJson($"/v1/packages/{name}/1.0.0")).GetProperty("searchVisible").GetBoolean());
        var hits = (await Host.GetJson($"/v1/search?q={name}")).GetProperty("hits").EnumerateArray();
        Assert.DoesNotContain(hits, h => h.GetProperty("name").GetString() == name);
    }

    private static string Without(JsonElement answer, string property) =>
        string.Join(",", answer.EnumerateObject().Where(p => p.Name != property).Select(p => p.Name + "=" + p.Value.GetRawText()));

    [Fact]
    public async Task the_azure_worker_timer_entry_catches_up_without_any_route()
    {
        var published = await Host.PublishedPackage();
        await NotProjectedYet(published.Name);

        // What the worker's Projections timer calls: no HTTP route, no custom-handler payload.
        var summary = await ProjectionCatchUp.CatchUpAndDispatchAsync(Host.Services, "azure-timer", CancellationToken.None);

        Assert.True(summary.CaughtUp);
        Assert.Equal("azure-timer", summary.Trigger);
        Assert.True((await Host.GetJson($"/v1/packages/{published.Name}/1.0.0")).GetProperty("searchVisible").GetBoolean());
        // The custom handler's timer path is no route of the app any more.
        await Host.Scenario(s =>
        {
            s.Post.Text("{}").ToUrl("/projections");
            s.StatusCodeShouldBe(404);
        });
    }

    [Fact]
    public async Task a_catch_up_with_nothing_new_is_quick_and_still_caught_up()
    {
        await PostJson(ProjectionCatchUp.Path, "{}");
        var again = await PostJson(ProjectionCatchUp.Path, "{}");
        Assert.True(again.GetProperty("caughtUp").GetBoolean());
        Assert.Equal("request", again.GetProperty("trigger").GetString());
        Assert.Equal(
            again.GetProperty("before").EnumerateArray().Select(s => s.GetProperty("sequence").GetInt64()),
            again.GetProperty("after").EnumerateArray().Select(s => s.GetProperty("sequence").GetInt64()));
    }

    [Fact]
    public async Task no_code_is_generated_at_run_time_to_publish_project_and_read()
    {
        var published = await Host.PublishedPackage();
        await PostJson(ProjectionCatchUp.Path, "{}");
        await Host.GetJson($"/v1/packages/{published.Name}");
        await Host.DownloadAsync(published.Name, published.Version);

        // Marten 9 generates its projection dispatch at build time (source generator); 8.x compiled C# with Roslyn at
        // first use, into dynamic assemblies. Neither Roslyn nor JasperFx's runtime compiler may be loaded, or even
        // be in the app's dependency graph, and no dynamic assembly may come from Marten or JasperFx.
        var loaded = AppDomain.CurrentDomain.GetAssemblies();
        Assert.DoesNotContain(loaded, a => a.GetName().Name is { } n && (n.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal) || n == "JasperFx.RuntimeCompiler"));
        Assert.DoesNotContain(loaded, a => a.IsDynamic && a.GetName().Name is { } n &&
            (n.Contains("Marten", StringComparison.OrdinalIgnoreCase) || n.Contains("JasperFx", StringComparison.OrdinalIgnoreCase) || n.Contains("Generated", StringComparison.OrdinalIgnoreCase)));

        var deps = Path.Combine(Path.GetDirectoryName(typeof(ProjectionCatchUp).Assembly.Location)!, "Marketplace.Tests.deps.json");
        var libraries = JsonDocument.Parse(File.ReadAllText(deps)).RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name).ToList();
        Assert.Contains(libraries, l => l.StartsWith("Marten/", StringComparison.Ordinal));
        Assert.DoesNotContain(libraries, l => l.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal) || l.StartsWith("JasperFx.RuntimeCompiler", StringComparison.Ordinal));
    }

    private async Task<JsonElement> PostJson(string path, string json)
    {
        var result = await Host.Scenario(s =>
        {
            s.Post.Text(json).ToUrl(path);
            s.WithRequestHeader("Content-Type", "application/json");
            s.StatusCodeShouldBe(200);
        });
        return JsonDocument.Parse(await result.ReadAsTextAsync()).RootElement.Clone();
    }
}

/// <summary>An HTTP function: the catch-up route is not served there, and everything else works without schema work at start.</summary>
[Collection("http function")]
public sealed class HttpFunctionScenarios(HttpFunctionFixture fixture)
{
    private Alba.IAlbaHost Host => fixture.Host;

    [Theory]
    [InlineData(ProjectionCatchUp.Path)]
    public async Task the_catch_up_routes_answer_not_found(string path)
    {
        var (status, code, _) = await Host.Send(s => s.Post.Text("{}").ToUrl(path));
        Assert.Equal(404, status);
        Assert.Equal("not-found", code);
    }

    [Fact]
    public async Task publish_download_and_readiness_work_on_a_schema_applied_by_db_apply()
    {
        var published = await Host.PublishedPackage();
        await Host.PublishedPackage();
        var (_, bytes) = await Host.DownloadAsync(published.Name, published.Version);
        Assert.Equal(published.Blob, bytes);
        // Readiness lists the bucket: still ready once it holds more than one blob.
        var ready = await Host.GetJson("/health/ready");
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        // No daemon here: search waits for the projections function (the version itself is read from the log).
        Assert.False((await Host.GetJson($"/v1/packages/{published.Name}/{published.Version}")).GetProperty("searchVisible").GetBoolean());
    }
}

/// <summary>A host running the daemon in-process must not run a second one on request.</summary>
[Collection("file store")]
public sealed class InProcessDaemonScenarios(FileStoreFixture fixture)
{
    [Theory]
    [InlineData(ProjectionCatchUp.Path)]
    public async Task a_catch_up_is_refused_while_the_daemon_runs_in_process(string path)
    {
        var (status, code, body) = await fixture.Host.Send(s => s.Post.Text("{}").ToUrl(path));
        Assert.Equal(409, status);
        Assert.Equal("conflict", code);
        Assert.Contains("Marten:Daemon=Solo", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>Download counters are rebuilt from the log, not added on top of what the table held.</summary>
[Collection("projections function")]
public sealed class DownloadCountRebuild(ProjectionsFunctionFixture fixture)
{
    [Fact]
    public async Task rebuilding_the_download_counters_gives_the_same_totals()
    {
        var published = await fixture.Host.PublishedPackage();
        for (var i = 0; i < 3; i++) await fixture.Host.DownloadAsync(published.Name, published.Version);
        await fixture.Host.Scenario(s =>
        {
            s.Post.Text("{}").ToUrl(ProjectionCatchUp.Path);
            s.WithRequestHeader("Content-Type", "application/json");
            s.StatusCodeShouldBe(200);
        });
        Assert.Equal(3, (await fixture.Host.GetJson($"/v1/packages/{published.Name}/downloads")).GetProperty("total").GetInt64());

        using (var daemon = await fixture.Store.BuildProjectionDaemonAsync())
            await daemon.RebuildProjectionAsync(Marketplace.Projections.Downloads.DownloadCountsProjection.ProjectionName, CancellationToken.None);

        Assert.Equal(3, (await fixture.Host.GetJson($"/v1/packages/{published.Name}/downloads")).GetProperty("total").GetInt64());
    }
}
