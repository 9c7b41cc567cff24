using System.Diagnostics;
using System.Text.Json;
using Alba;
using Marketplace.Functions.Observability;
using Marketplace.Testing;
using Marketplace.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Observability;

/// <summary>A host with the local observability defaults (Prometheus at /metrics).</summary>
public sealed class ObservabilityFixture() : MarketplaceFixture(HostProfile.Default);

/// <summary>
/// The <c>Marketplace</c> meter is process-wide, so exact counts need the process to themselves: this collection runs
/// after the parallel ones, alone.
/// </summary>
[CollectionDefinition("observability", DisableParallelization = true)]
public sealed class ObservabilityCollection : ICollectionFixture<ObservabilityFixture>;

[Collection("observability")]
public sealed class ObservabilityScenarios(ObservabilityFixture fixture)
{
    private IAlbaHost Host => fixture.Host;

    private async Task<PrometheusText> Scrape()
    {
        var result = await Host.Scenario(s =>
        {
            s.Get.Url("/metrics");
            s.StatusCodeShouldBe(200);
        });
        Assert.StartsWith("text/plain", result.Context.Response.ContentType, StringComparison.Ordinal);
        return PrometheusText.Parse(await result.ReadAsTextAsync());
    }

    [Fact]
    public async Task metrics_count_publishes_and_downloads()
    {
        var before = await Scrape();

        var p = await Host.PublishedPackage();
        await Host.PublishedPackage(p.Name, "1.1.0", p.Owner);
        for (var i = 0; i < 3; i++)
            await Host.DownloadAsync(p.Name, p.Version);

        var after = await Scrape();
        Assert.Equal(2, after.Value("marketplace_publishes") - before.Value("marketplace_publishes"));
        Assert.Equal(3, after.Value("marketplace_downloads") - before.Value("marketplace_downloads"));
        Assert.Equal("gauge", after.Types["marketplace_publishes"]);
        Assert.Equal("histogram", after.Types["marketplace_request_duration"]);
        Assert.Equal(2, after.Value("marketplace_request_duration_count", ("method", "PUT"), ("route", "/v1/packages/{name}/{version}"), ("status", "2xx"))
            - before.Value("marketplace_request_duration_count", ("method", "PUT"), ("route", "/v1/packages/{name}/{version}"), ("status", "2xx")));
        // Low cardinality: routes are templates, never a package name.
        Assert.DoesNotContain(after.SampleKeys, k => k.Contains(p.Name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task yanks_and_owner_changes_are_counted_by_action()
    {
        var before = await Scrape();
        var p = await Host.PublishedPackage();
        await Host.GetJsonFromPost($"/v1/packages/{p.Name}/{p.Version}/yank", YankBody(p.Owner, "yank", p.Name, p.Version), 200);
        await Host.GetJsonFromPost($"/v1/packages/{p.Name}/{p.Version}/yank", YankBody(p.Owner, "unyank", p.Name, p.Version), 200);
        // A no-op (unyank of a live version) changes nothing and is not counted.
        await Host.GetJsonFromPost($"/v1/packages/{p.Name}/{p.Version}/yank", YankBody(p.Owner, "unyank", p.Name, p.Version), 200);
        var other = Marketplace.Signing.StatementSigner.Generate();
        await Host.GetJsonFromPost($"/v1/packages/{p.Name}/owners", OwnersBody(p.Owner, "add", p.Name, other.Owner), 200);

        var after = await Scrape();
        Assert.Equal(1, after.Value("marketplace_yanks", ("action", "yank")) - before.Value("marketplace_yanks", ("action", "yank")));
        Assert.Equal(1, after.Value("marketplace_yanks", ("action", "unyank")) - before.Value("marketplace_yanks", ("action", "unyank")));
        Assert.Equal(1, after.Value("marketplace_owner_changes", ("action", "add")) - before.Value("marketplace_owner_changes", ("action", "add")));
    }

    [Fact]
    public async Task a_rejection_counts_under_its_code()
    {
        var before = await Scrape();

        Assert.Equal("invalid-name", (await Host.Send(s => s.Get.Url("/v1/packages/-bad-name"))).Code);
        Assert.Equal("not-found", (await Host.Send(s => s.Get.Url("/no/such/route"))).Code);
        Assert.Equal("not-found", (await Host.Send(s => s.Get.Url($"/v1/packages/{UniqueName()}"))).Code);

        var after = await Scrape();
        Assert.Equal(1, after.Value("marketplace_rejections", ("code", "invalid-name")) - before.Value("marketplace_rejections", ("code", "invalid-name")));
        Assert.Equal(2, after.Value("marketplace_rejections", ("code", "not-found")) - before.Value("marketplace_rejections", ("code", "not-found")));
        Assert.Equal(1, after.Value("marketplace_request_duration_count", ("method", "GET"), ("route", "unmatched"), ("status", "4xx"))
            - before.Value("marketplace_request_duration_count", ("method", "GET"), ("route", "unmatched"), ("status", "4xx")));
    }

    [Fact]
    public async Task projection_lag_is_measured_per_read_model()
    {
        await Host.PublishedPackage();
        await fixture.WaitForProjectionsAsync();
        var sampler = Host.Services.GetRequiredService<ProjectionLagSampler>();

        var lags = await sampler.SampleAsync(CancellationToken.None);

        Assert.NotEmpty(lags);
        Assert.All(lags, l => Assert.Equal(0, l.Events));
        Assert.All(lags, l => Assert.Equal(0, l.Seconds));
        Assert.Contains(lags, l => l.Projection.Contains("PackageDocument", StringComparison.Ordinal));
        // The background sampler has run at least once at start, so the gauges have series.
        var metrics = await Scrape();
        Assert.Contains(metrics.SampleKeys, k => k.StartsWith("marketplace_projection_lag{projection=", StringComparison.Ordinal));
        Assert.Contains(metrics.SampleKeys, k => k.StartsWith("marketplace_projection_lag_seconds{projection=", StringComparison.Ordinal));
        // And each event's way into each read model, search included, as a histogram.
        foreach (var projection in new[] { "PackageDocument", "VersionDocument", "Search", "TransparencyLog" })
            Assert.Contains(metrics.SampleKeys, k => k.StartsWith("marketplace_projection_visibility_delay", StringComparison.Ordinal)
                && k.Contains($"projection=\"{projection}\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task emf_lines_from_real_requests_follow_the_spec()
    {
        using var output = new StringWriter();
        using var exporter = new EmfExporter(new EmfOptions(), output, TimeProvider.System);

        var p = await Host.PublishedPackage();
        await Host.PublishedPackage(p.Name, "2.0.0", p.Owner);
        for (var i = 0; i < 3; i++)
            await Host.DownloadAsync(p.Name, p.Version);
        await Host.Send(s => s.Get.Url("/v1/packages/-bad-name"));
        exporter.Flush();

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.NotEmpty(lines);
        var documents = lines.Select(l => EmfValidator.Validate(l, DateTimeOffset.UtcNow)).ToList();
        Assert.Equal(2, EmfValidator.Sum(documents, "Publishes"));
        Assert.Equal(3, EmfValidator.Sum(documents, "Downloads"));
        Assert.Equal(1, EmfValidator.Sum(documents, "Rejections", ("code", "invalid-name")));
        Assert.Equal(3, EmfValidator.SampleCount(documents, "RequestDuration", ("route", "/v1/packages/{name}/{version}/download"), ("status", "3xx")));
        Assert.All(documents, d => Assert.Equal("Marketplace", d.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Namespace").GetString()));
        Assert.DoesNotContain(lines, l => l.Contains(p.Name, StringComparison.Ordinal));
        var latency = documents.First(d => d.TryGetProperty("RequestDuration", out _));
        Assert.Equal("Milliseconds", latency.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Metrics")
            .EnumerateArray().Single(m => m.GetProperty("Name").GetString() == "RequestDuration").GetProperty("Unit").GetString());
    }

    [Fact]
    public async Task request_spans_carry_the_correlation_id()
    {
        var correlationId = "obs-" + Guid.NewGuid().ToString("n");
        var tagged = new List<string?>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem(ObservabilityServices.CorrelationTag) is string id && id == correlationId)
                    lock (tagged) tagged.Add(id);
            },
        };
        ActivitySource.AddActivityListener(listener);

        await Host.Scenario(s =>
        {
            s.Get.Url("/health/live");
            s.WithRequestHeader("X-Correlation-Id", correlationId);
        });

        lock (tagged) Assert.Single(tagged);
    }
}

/// <summary>A host whose projections run nowhere (as an HTTP function with the projections function stopped).</summary>
public sealed class NoDaemonFixture() : MarketplaceFixture(HostProfile.Default with { Daemon = false });

[CollectionDefinition("no daemon")]
public sealed class NoDaemonCollection : ICollectionFixture<NoDaemonFixture>;

[Collection("no daemon")]
public sealed class ProjectionLagScenarios(NoDaemonFixture fixture)
{
    [Fact]
    public async Task lag_in_seconds_shows_events_no_daemon_has_processed()
    {
        var sampler = fixture.Host.Services.GetRequiredService<ProjectionLagSampler>();
        Assert.All(await sampler.SampleAsync(CancellationToken.None), l => Assert.Equal(0, l.Seconds));

        await fixture.Host.PublishedPackage();

        // The lag is the age of the oldest unprocessed event: above zero as soon as the clock has moved past it.
        IReadOnlyList<ProjectionLag> lags = [];
        await Poll.UntilAsync(async () => (lags = await sampler.SampleAsync(CancellationToken.None)).Count > 0 && lags.All(l => l.Seconds > 0),
            "every projection lags behind the publish", TimeSpan.FromSeconds(10));
        Assert.NotEmpty(lags);
        Assert.All(lags, l => Assert.True(l.Seconds > 0, $"{l.Projection} lags {l.Seconds} s"));
    }
}
