using System.Globalization;
using System.Text.RegularExpressions;
using Alba;
using Marketplace.Functions.Protection;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Protection;

/// <summary>
/// A host with tiny quotas (per window of a minute: 3 publishes per address and 2 per key, 1 yank per key, 3 downloads
/// per address), nobody exempt, the client address the second X-Forwarded-For hop from the right (two trusted proxies:
/// the first appends the client, the second 10.0.0.1), and a fake clock for the rate
/// limiters only (statements are still checked against real time). Each test takes its own addresses and keys.
/// </summary>
public sealed class ProtectionFixture() : MarketplaceFixture(HostProfile.Default.With(
    ("Protection:ExemptLoopback", "false"),
    ("Protection:TrustForwardedFor", "true"),
    ("Protection:TrustedProxies", "2"),
    ("Protection:RateLimits:Publish:PerAddress", "3"),
    ("Protection:RateLimits:Publish:PerKey", "2"),
    ("Protection:RateLimits:Publish:Window", "00:01:00"),
    ("Protection:RateLimits:Yank:PerAddress", "100"),
    ("Protection:RateLimits:Yank:PerKey", "1"),
    ("Protection:RateLimits:Download:PerAddress", "3")))
{
    private static int _lastAddress;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    protected override void ConfigureHost(IWebHostBuilder builder) =>
        builder.ConfigureTestServices(services => services.AddKeyedSingleton<TimeProvider>(ProtectionServices.ClockKey, Clock));

    /// <summary>A client address no other test uses (TEST-NET-3).</summary>
    public static string NewAddress()
    {
        var n = Interlocked.Increment(ref _lastAddress);
        return $"203.0.{113 + n / 250}.{1 + n % 250}";
    }
}

[CollectionDefinition("protection")]
public sealed class ProtectionCollection : ICollectionFixture<ProtectionFixture>;

/// <summary>Requests as a given client: the address goes first in X-Forwarded-For, a proxy after it.</summary>
public static class Client
{
    public static Task<IScenarioResult> Publish(this IAlbaHost host, string address, StatementSigner signer, string name, string version = "1.0.0")
    {
        var blob = RandomBlob(64);
        return host.Scenario(s =>
        {
            s.Put.Json(PublishBody(signer, Statement(name, version, blob), blob)).ToUrl($"/v1/packages/{name}/{version}");
            From(s, address);
            s.IgnoreStatusCode();
        });
    }

    public static Task<IScenarioResult> Get(this IAlbaHost host, string address, string url, Action<Scenario>? configure = null) =>
        host.Scenario(s =>
        {
            s.Get.Url(url);
            From(s, address);
            configure?.Invoke(s);
            s.IgnoreStatusCode();
        });

    public static Task<IScenarioResult> Post(this IAlbaHost host, string address, string url, object body) =>
        host.Scenario(s =>
        {
            s.Post.Json(body).ToUrl(url);
            From(s, address);
            s.IgnoreStatusCode();
        });

    public static void From(Scenario s, string address) => s.WithRequestHeader("X-Forwarded-For", $"{address}, 10.0.0.1");

    public static int Status(this IScenarioResult result) => result.Context.Response.StatusCode;

    public static string Header(this IScenarioResult result, string name) => result.Context.Response.Headers[name].ToString();

    /// <summary>The items of a Structured Field list header, by policy name: <c>"p";r=1;t=2</c> → p → {r:1, t:2}.</summary>
    public static Dictionary<string, Dictionary<string, int>> Items(this IScenarioResult result, string header)
    {
        var items = new Dictionary<string, Dictionary<string, int>>();
        foreach (var value in result.Context.Response.Headers[header])
        {
            foreach (var item in value!.Split(','))
            {
                var match = Regex.Match(item.Trim(), "^\"(?<name>[a-z-]+)\"(?<params>(;[a-z]+=\\d+)+)$");
                Assert.True(match.Success, $"{header} item '{item}' is not a policy string with integer parameters");
                items[match.Groups["name"].Value] = match.Groups["params"].Value.Split(';', StringSplitOptions.RemoveEmptyEntries)
                    .Select(p => p.Split('='))
                    .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture));
            }
        }
        return items;
    }
}
