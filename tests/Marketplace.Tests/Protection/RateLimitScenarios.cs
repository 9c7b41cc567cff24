using System.Globalization;
using System.Text.Json;
using Alba;
using Marketplace.Signing;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Protection;

[Collection("protection")]
public sealed class RateLimitScenarios(ProtectionFixture fixture)
{
    private IAlbaHost Host => fixture.Host;

    [Fact]
    public async Task publishing_past_the_address_quota_is_429_rate_limited_with_retry_after_and_ratelimit_fields()
    {
        var address = ProtectionFixture.NewAddress();
        for (var i = 0; i < 3; i++)
        {
            var admitted = await Host.Publish(address, StatementSigner.Generate(), UniqueName());
            Assert.Equal(201, admitted.Status());
            Assert.Equal(2 - i, admitted.Items("RateLimit")["publish-address"]["r"]);
            Assert.Equal(new Dictionary<string, int> { ["q"] = 3, ["w"] = 60 }, admitted.Items("RateLimit-Policy")["publish-address"]);
        }

        var refused = await Host.Publish(address, StatementSigner.Generate(), UniqueName());

        Assert.Equal(429, refused.Status());
        Assert.StartsWith("application/problem+json", refused.Context.Response.ContentType, StringComparison.Ordinal);
        var problem = JsonDocument.Parse(await refused.ReadAsTextAsync()).RootElement;
        Assert.Equal("rate-limited", problem.GetProperty("code").GetString());
        Assert.Equal("urn:marketplace:problem:rate-limited", problem.GetProperty("type").GetString());
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        var retryAfter = int.Parse(refused.Header("Retry-After"), CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        var limit = refused.Items("RateLimit")["publish-address"];
        Assert.Equal(0, limit["r"]);
        Assert.Equal(retryAfter, limit["t"]);
        Assert.Equal(3, refused.Items("RateLimit-Policy")["publish-address"]["q"]);
        Assert.False(string.IsNullOrEmpty(refused.Header("X-Correlation-Id")));
    }

    [Fact]
    public async Task another_client_address_is_not_affected()
    {
        var busy = ProtectionFixture.NewAddress();
        for (var i = 0; i < 3; i++)
            Assert.Equal(201, (await Host.Publish(busy, StatementSigner.Generate(), UniqueName())).Status());
        Assert.Equal(429, (await Host.Publish(busy, StatementSigner.Generate(), UniqueName())).Status());

        var other = await Host.Publish(ProtectionFixture.NewAddress(), StatementSigner.Generate(), UniqueName());

        Assert.Equal(201, other.Status());
        Assert.Equal(2, other.Items("RateLimit")["publish-address"]["r"]);
    }

    [Fact]
    public async Task the_quota_comes_back_when_the_window_ends()
    {
        var address = ProtectionFixture.NewAddress();
        for (var i = 0; i < 3; i++)
            Assert.Equal(201, (await Host.Publish(address, StatementSigner.Generate(), UniqueName())).Status());
        var refused = await Host.Publish(address, StatementSigner.Generate(), UniqueName());
        Assert.Equal(429, refused.Status());

        fixture.Clock.Advance(TimeSpan.FromSeconds(int.Parse(refused.Header("Retry-After"), CultureInfo.InvariantCulture)));

        var again = await Host.Publish(address, StatementSigner.Generate(), UniqueName());
        Assert.Equal(201, again.Status());
        Assert.Equal(2, again.Items("RateLimit")["publish-address"]["r"]);
    }

    [Fact]
    public async Task the_key_quota_is_charged_per_signer_key_from_any_address()
    {
        var owner = StatementSigner.Generate();
        var name = UniqueName();
        var first = await Host.Publish(ProtectionFixture.NewAddress(), owner, name, "1.0.0");
        Assert.Equal(201, first.Status());
        Assert.Equal(1, first.Items("RateLimit")["publish-key"]["r"]);
        Assert.Equal(201, (await Host.Publish(ProtectionFixture.NewAddress(), owner, name, "1.0.1")).Status());

        var address = ProtectionFixture.NewAddress();
        var refused = await Host.Publish(address, owner, name, "1.0.2");

        Assert.Equal(429, refused.Status());
        Assert.Equal("rate-limited", JsonDocument.Parse(await refused.ReadAsTextAsync()).RootElement.GetProperty("code").GetString());
        Assert.Equal(0, refused.Items("RateLimit")["publish-key"]["r"]);
        Assert.Equal(2, refused.Items("RateLimit")["publish-address"]["r"]);
        Assert.Equal(2, refused.Items("RateLimit-Policy")["publish-key"]["q"]);
        Assert.False(string.IsNullOrEmpty(refused.Header("Retry-After")));
        // Another key from the same address still publishes.
        Assert.Equal(201, (await Host.Publish(address, StatementSigner.Generate(), UniqueName())).Status());
    }

    [Fact]
    public async Task a_replayed_statement_does_not_spend_its_signers_quota()
    {
        var owner = StatementSigner.Generate();
        var name = UniqueName();
        var blob = RandomBlob(64);
        var body = PublishBody(owner, Statement(name, "1.0.0", blob), blob);
        async Task<IScenarioResult> Send() => await Host.Scenario(s =>
        {
            s.Put.Json(body).ToUrl($"/v1/packages/{name}/1.0.0");
            Client.From(s, ProtectionFixture.NewAddress());
            s.IgnoreStatusCode();
        });
        Assert.Equal(201, (await Send()).Status());

        for (var i = 0; i < 3; i++)
            Assert.Equal(409, (await Send()).Status());

        Assert.Equal(201, (await Host.Publish(ProtectionFixture.NewAddress(), owner, name, "1.1.0")).Status());
    }

    [Fact]
    public async Task yanks_are_limited_per_key()
    {
        var owner = StatementSigner.Generate();
        var name = UniqueName();
        Assert.Equal(201, (await Host.Publish(ProtectionFixture.NewAddress(), owner, name, "1.0.0")).Status());
        var url = $"/v1/packages/{name}/1.0.0/yank";
        Assert.Equal(200, (await Host.Post(ProtectionFixture.NewAddress(), url, YankBody(owner, "yank", name, "1.0.0"))).Status());

        var refused = await Host.Post(ProtectionFixture.NewAddress(), url, YankBody(owner, "unyank", name, "1.0.0"));

        Assert.Equal(429, refused.Status());
        Assert.Equal(0, refused.Items("RateLimit")["yank-key"]["r"]);
        fixture.Clock.Advance(ProtectionFixture.Window);
        Assert.Equal(200, (await Host.Post(ProtectionFixture.NewAddress(), url, YankBody(owner, "unyank", name, "1.0.0"))).Status());
    }

    [Fact]
    public async Task downloads_are_limited_per_address()
    {
        var owner = StatementSigner.Generate();
        var name = UniqueName();
        Assert.Equal(201, (await Host.Publish(ProtectionFixture.NewAddress(), owner, name)).Status());
        var url = $"/v1/packages/{name}/1.0.0/download";
        var address = ProtectionFixture.NewAddress();
        for (var i = 0; i < 3; i++)
            Assert.Equal(302, (await Host.Get(address, url)).Status());

        var refused = await Host.Get(address, url);

        Assert.Equal(429, refused.Status());
        Assert.Equal(0, refused.Items("RateLimit")["download-address"]["r"]);
        Assert.Equal(302, (await Host.Get(ProtectionFixture.NewAddress(), url)).Status());
    }

    [Fact]
    public async Task the_hop_the_trusted_proxies_vouch_for_is_the_client_whichever_proxy_appended_last()
    {
        var address = ProtectionFixture.NewAddress();
        for (var i = 0; i < 3; i++)
        {
            var proxy = $"10.0.0.{i + 1}";
            var result = await Host.Scenario(s =>
            {
                var blob = RandomBlob(64);
                var name = UniqueName();
                s.Put.Json(PublishBody(StatementSigner.Generate(), Statement(name, "1.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/1.0.0");
                s.WithRequestHeader("X-Forwarded-For", $"{address}, {proxy}");
                s.ConfigureHttpContext(c => c.Connection.RemoteIpAddress = System.Net.IPAddress.Parse(proxy));
                s.IgnoreStatusCode();
            });
            Assert.Equal(201, result.Status());
        }
        Assert.Equal(429, (await Host.Publish(address, StatementSigner.Generate(), UniqueName())).Status());
    }

    [Fact]
    public async Task reads_are_not_rate_limited_and_carry_no_ratelimit_fields()
    {
        var address = ProtectionFixture.NewAddress();
        for (var i = 0; i < 10; i++)
        {
            var read = await Host.Get(address, "/.well-known/marketplace");
            Assert.Equal(200, read.Status());
            Assert.Empty(read.Header("RateLimit"));
        }
    }

    [Fact]
    public async Task the_well_known_document_lists_the_rate_limits()
    {
        var facts = JsonDocument.Parse(await (await Host.Get(ProtectionFixture.NewAddress(), "/.well-known/marketplace")).ReadAsTextAsync()).RootElement;
        var rateLimits = facts.GetProperty("limits").GetProperty("rateLimits");

        Assert.False(rateLimits.GetProperty("exemptLoopback").GetBoolean());
        var policies = rateLimits.GetProperty("policies").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.Equal(3, policies["publish-address"].GetProperty("quota").GetInt32());
        Assert.Equal(60, policies["publish-address"].GetProperty("windowSeconds").GetInt32());
        Assert.Equal("address", policies["publish-address"].GetProperty("partition").GetString());
        Assert.Equal(2, policies["publish-key"].GetProperty("quota").GetInt32());
        Assert.Equal("publish", policies["publish-key"].GetProperty("operation").GetString());
        Assert.Equal(3, policies["download-address"].GetProperty("quota").GetInt32());
        Assert.False(policies.ContainsKey("download-key"));
    }
}
