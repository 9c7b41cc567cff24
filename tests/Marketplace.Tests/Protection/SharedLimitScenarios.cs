using System.Diagnostics;
using System.Net;
using Alba;
using Marketplace.Functions.Protection;
using Marketplace.Signing;
using Marketplace.Testing;
using Marketplace.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Protection;

/// <summary>
/// Two instances of the app on one schema (as two Lambda instances on one database), tiny quotas on every costly
/// route, nobody exempt, the client the rightmost X-Forwarded-For hop, and counts shared only when a test says so
/// (<c>Protection:ReconcileInterval=0</c>; the test calls <see cref="RateLimitReconciler.ReconcileAsync"/>).
/// </summary>
public sealed class SharedLimitFixture : IAsyncLifetime
{
    public string Schema { get; } = "t_" + Guid.NewGuid().ToString("n")[..12];
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "mkt-blobs-" + Guid.NewGuid().ToString("n")[..12]);
    public IAlbaHost A { get; private set; } = null!;
    public IAlbaHost B { get; private set; } = null!;

    private static int _lastAddress;

    /// <summary>A client address no other test uses (TEST-NET-2).</summary>
    public static string NewAddress()
    {
        var n = Interlocked.Increment(ref _lastAddress);
        return $"198.51.{100 + n / 250}.{1 + n % 250}";
    }

    private Task<IAlbaHost> StartAsync() => AlbaHost.For<Program>(b =>
    {
        foreach (var (k, v) in new Dictionary<string, string>
        {
            ["ConnectionStrings:Marketplace"] = TestEnvironment.Postgres,
            ["Marten:Schema"] = Schema,
            ["Blobs:Store"] = "file",
            ["Blobs:File:Root"] = Root,
            ["Reads:CacheFor"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Protection:ExemptLoopback"] = "false",
            ["Protection:ClientAddressSource"] = "forwarded-for",
            ["Protection:ReconcileInterval"] = "00:00:00",
            // Hour-long windows: the windows are clock-aligned, and a test whose requests straddle a boundary of
            // the default minute sees the count start again (a 200 where it waits for 429; it happened here).
            ["Protection:RateLimits:Search:PerAddress"] = "4",
            ["Protection:RateLimits:Search:Window"] = "01:00:00",
            ["Protection:RateLimits:Upload:PerAddress"] = "2",
            ["Protection:RateLimits:Upload:Window"] = "01:00:00",
            ["Protection:RateLimits:Feed:PerAddress"] = "3",
            ["Protection:RateLimits:Feed:Window"] = "01:00:00",
            ["Protection:RateLimits:LogProof:PerAddress"] = "3",
            ["Protection:RateLimits:LogProof:Window"] = "01:00:00",
            ["Protection:RateLimits:PackageDownload:PerAddress"] = "2",
            ["Protection:RateLimits:PackageDownload:Window"] = "01:00:00",
        })
        {
            b.UseSetting(k, v);
        }
    });

    public async Task InitializeAsync()
    {
        A = await StartAsync();
        B = await StartAsync();
    }

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        await TestDatabase.DropSchemaAsync(Schema);
    }
}

[CollectionDefinition("shared limits")]
public sealed class SharedLimitCollection : ICollectionFixture<SharedLimitFixture>;

[Collection("shared limits")]
public sealed class SharedLimitScenarios(SharedLimitFixture fixture, ITestOutputHelper output)
{
    private static async Task<int> Status(IAlbaHost host, string address, Action<Scenario> request)
    {
        var result = await host.Scenario(s =>
        {
            request(s);
            s.WithRequestHeader("X-Forwarded-For", address);
            s.IgnoreStatusCode();
        });
        return result.Context.Response.StatusCode;
    }

    private static async Task<int> Get(IAlbaHost host, string address, string url) => await Status(host, address, s => s.Get.Url(url));

    private static Task Reconcile(IAlbaHost host) => host.Services.GetRequiredService<RateLimitReconciler>().ReconcileAsync(CancellationToken.None);

    [Fact]
    public async Task search_uploads_the_feed_package_histories_and_log_proofs_are_each_limited_per_client_address()
    {
        var p = await fixture.A.PublishedPackage();
        var routes = new (int Quota, Action<Scenario> Request)[]
        {
            (4, s => s.Get.Url("/v1/search?q=anything")),
            (2, s => s.Post.Json(new { sha256 = new string('a', 64), size = 10 }).ToUrl("/v1/uploads")),
            (3, s => s.Get.Url("/v1/events?limit=1")),
            (3, s => s.Get.Url($"/v1/packages/{p.Name}/events")),
            (3, s => s.Get.Url("/v1/log/checkpoint")),
            (3, s => s.Get.Url("/v1/log/proof/consistency?from=0")),
            (3, s => s.Get.Url("/v1/log/leaves/0")),
        };
        foreach (var (quota, request) in routes)
        {
            var address = SharedLimitFixture.NewAddress();
            for (var i = 0; i < quota; i++)
                Assert.NotEqual(429, await Status(fixture.A, address, request));
            Assert.Equal(429, await Status(fixture.A, address, request));
            Assert.NotEqual(429, await Status(fixture.A, SharedLimitFixture.NewAddress(), request));
        }
    }

    [Fact]
    public async Task downloading_one_package_over_and_over_is_refused_while_the_clients_other_downloads_go_on()
    {
        var p = await fixture.A.PublishedPackage();
        var q = await fixture.A.PublishedPackage();
        var address = SharedLimitFixture.NewAddress();
        var url = $"/v1/packages/{p.Name}/1.0.0/download";
        var first = await fixture.A.Scenario(s =>
        {
            s.Get.Url(url);
            s.WithRequestHeader("X-Forwarded-For", address);
            s.StatusCodeShouldBe(302);
        });
        var fields = first.Context.Response.Headers["RateLimit"].ToString();
        Assert.Contains("\"download-address\";r=", fields, StringComparison.Ordinal);
        Assert.Contains("\"package-download-address\";r=1", fields, StringComparison.Ordinal);
        Assert.Equal(302, await Get(fixture.A, address, url));

        var refused = await fixture.A.Scenario(s =>
        {
            s.Get.Url(url);
            s.WithRequestHeader("X-Forwarded-For", address);
            s.StatusCodeShouldBe(429);
        });
        Assert.Contains("\"package-download-address\";r=0", refused.Context.Response.Headers["RateLimit"].ToString(), StringComparison.Ordinal);
        Assert.True(int.Parse(refused.Context.Response.Headers.RetryAfter.ToString(), System.Globalization.CultureInfo.InvariantCulture) <= 3600);

        Assert.Equal(302, await Get(fixture.A, address, $"/v1/packages/{q.Name}/1.0.0/download"));
        Assert.Equal(302, await Get(fixture.A, SharedLimitFixture.NewAddress(), url));
    }

    [Fact]
    public async Task a_quota_holds_across_two_instances_that_share_their_counts_through_postgresql()
    {
        var address = SharedLimitFixture.NewAddress();
        const string url = "/v1/search?q=shared";
        for (var i = 0; i < 3; i++) Assert.Equal(200, await Get(fixture.A, address, url));

        // Before any exchange instance B knows nothing: it would admit the whole quota again.
        await Reconcile(fixture.A);
        await Reconcile(fixture.B);

        Assert.Equal(200, await Get(fixture.B, address, url));
        Assert.Equal(429, await Get(fixture.B, address, url));

        await Reconcile(fixture.B);
        await Reconcile(fixture.A);
        Assert.Equal(429, await Get(fixture.A, address, url));
        Assert.Equal(200, await Get(fixture.A, SharedLimitFixture.NewAddress(), url));
    }

    [Fact]
    public void a_limit_check_costs_microseconds_and_no_database_round_trip()
    {
        var limiter = new FixedWindowPartitions("search-address", 1_000_000, TimeSpan.FromMinutes(1), TimeProvider.System);
        var partitions = Enumerable.Range(0, 10_000).Select(i => $"198.51.100.{i % 250}/{i}").ToArray();
        for (var i = 0; i < 20_000; i++) limiter.AttemptAcquire(partitions[i % partitions.Length]).Dispose();
        const int n = 500_000;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < n; i++) limiter.AttemptAcquire(partitions[i % partitions.Length]).Dispose();
        var perCheck = clock.Elapsed.TotalMicroseconds / n;
        output.WriteLine($"{perCheck:F3} µs per limit check ({n} checks over {partitions.Length} partitions, one thread)");
        Assert.True(perCheck < 20, $"{perCheck:F3} µs per limit check");
    }
}

/// <summary>The client address each source vouches for, and what a client can write that changes nothing.</summary>
public sealed class ClientAddressTests
{
    private static ProtectionOptions Options(params (string Key, string Value)[] settings) =>
        ProtectionOptions.From(new ConfigurationBuilder().AddInMemoryCollection(settings.ToDictionary(s => s.Key, s => (string?)s.Value)).Build());

    private static string? ClientOf(ProtectionOptions options, IPAddress? peer, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = peer;
        foreach (var (name, value) in headers) context.Request.Headers.Append(name, value);
        return ClientAddress.Of(context, options).Partition;
    }

    [Fact]
    public void behind_one_proxy_the_rightmost_forwarded_hop_is_the_client_whatever_the_client_wrote_before_it()
    {
        var o = Options(("Protection:Profile", "production"));
        Assert.Equal("forwarded-for", o.ClientAddressSource);
        Assert.Equal("192.0.2.9", ClientOf(o, IPAddress.Loopback, ("X-Forwarded-For", "192.0.2.9")));
        Assert.Equal("192.0.2.9", ClientOf(o, IPAddress.Loopback, ("X-Forwarded-For", "127.0.0.1, 203.0.113.5, 192.0.2.9")));
        Assert.Equal("192.0.2.9", ClientOf(o, IPAddress.Loopback, ("X-Forwarded-For", "10.1.1.1"), ("X-Forwarded-For", "192.0.2.9")));
        Assert.Equal("127.0.0.1", ClientOf(o, IPAddress.Loopback));
    }

    [Fact]
    public void with_two_trusted_proxies_the_second_hop_from_the_right_is_the_client()
    {
        var o = Options(("Protection:Profile", "production"), ("Protection:TrustedProxies", "2"));
        Assert.Equal("192.0.2.9", ClientOf(o, IPAddress.Loopback, ("X-Forwarded-For", "6.6.6.6, 192.0.2.9, 10.0.0.1")));
        // Fewer hops than trusted proxies: nothing to trust, the peer counts.
        Assert.Equal("127.0.0.1", ClientOf(o, IPAddress.Loopback, ("X-Forwarded-For", "192.0.2.9")));
    }

    [Fact]
    public void on_lambda_the_client_is_api_gateways_source_ip_and_forwarded_headers_are_ignored()
    {
        var o = Options(("Protection:Profile", "production"), ("Protection:ClientAddressSource", "aws-request-context"));
        Assert.Equal("198.51.100.7", ClientOf(o, IPAddress.Loopback,
            ("x-amzn-request-context", """{"accountId":"1","http":{"method":"GET","sourceIp":"198.51.100.7"},"requestId":"r"}"""),
            ("X-Forwarded-For", "6.6.6.6")));
        Assert.Equal("198.51.100.8", ClientOf(o, IPAddress.Loopback, ("x-amzn-request-context", """{"identity":{"sourceIp":"198.51.100.8"}}""")));
        Assert.Equal("2001:db8:1:2::/64", ClientOf(o, IPAddress.Loopback, ("x-amzn-request-context", """{"http":{"sourceIp":"2001:db8:1:2:3:4:5:6"}}""")));
        Assert.Equal("127.0.0.1", ClientOf(o, IPAddress.Loopback, ("x-amzn-request-context", "not json"), ("X-Forwarded-For", "6.6.6.6")));
    }

    [Fact]
    public void behind_azure_front_door_the_client_is_x_azure_clientip()
    {
        var o = Options(("Protection:Profile", "production"), ("Protection:ClientAddressSource", "azure-front-door"));
        Assert.Equal("198.51.100.9", ClientOf(o, IPAddress.Loopback, ("X-Azure-ClientIP", "198.51.100.9"), ("X-Forwarded-For", "6.6.6.6")));
    }

    [Fact]
    public void locally_the_peer_is_the_client_and_forwarded_headers_are_ignored()
    {
        var o = Options();
        Assert.Equal("peer", o.ClientAddressSource);
        Assert.Equal("192.0.2.10", ClientOf(o, IPAddress.Parse("192.0.2.10"), ("X-Forwarded-For", "127.0.0.1"), ("X-Azure-ClientIP", "127.0.0.1")));
    }

    [Theory]
    [InlineData("Protection:ClientAddressSource", "first-hop")]
    [InlineData("Protection:TrustedProxies", "0")]
    [InlineData("Protection:RateLimits:Search:PerKey", "1")]
    public void a_bad_protection_setting_fails_at_startup(string key, string value) =>
        Assert.Throws<InvalidOperationException>(() => Options((key, value)));
}
