using Alba;
using Marketplace.Functions.Protection;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Protection;

[Collection("protection")]
public sealed class SecurityHeaderScenarios(ProtectionFixture fixture)
{
    private IAlbaHost Host => fixture.Host;

    private static void AssertSecurityHeaders(IScenarioResult result, bool https = false)
    {
        Assert.Equal("nosniff", result.Header("X-Content-Type-Options"));
        Assert.Equal("no-referrer", result.Header("Referrer-Policy"));
        Assert.Equal("DENY", result.Header("X-Frame-Options"));
        Assert.Equal("default-src 'none'; frame-ancestors 'none'", result.Header("Content-Security-Policy"));
        Assert.Equal("same-origin", result.Header("Cross-Origin-Resource-Policy"));
        if (https) Assert.StartsWith("max-age=", result.Header("Strict-Transport-Security"), StringComparison.Ordinal);
        else Assert.Empty(result.Header("Strict-Transport-Security"));
    }

    [Fact]
    public async Task a_200_carries_the_security_headers()
    {
        var result = await Host.Get(ProtectionFixture.NewAddress(), "/.well-known/marketplace");
        Assert.Equal(200, result.Status());
        AssertSecurityHeaders(result);
    }

    [Fact]
    public async Task a_404_problem_carries_the_security_headers()
    {
        var unknownPackage = await Host.Get(ProtectionFixture.NewAddress(), $"/v1/packages/{UniqueName()}");
        Assert.Equal(404, unknownPackage.Status());
        AssertSecurityHeaders(unknownPackage);

        var unknownRoute = await Host.Get(ProtectionFixture.NewAddress(), "/no/such/route");
        Assert.Equal(404, unknownRoute.Status());
        Assert.StartsWith("application/problem+json", unknownRoute.Context.Response.ContentType, StringComparison.Ordinal);
        AssertSecurityHeaders(unknownRoute);
    }

    [Fact]
    public async Task a_304_carries_the_security_headers()
    {
        var name = UniqueName();
        Assert.Equal(201, (await Host.Publish(ProtectionFixture.NewAddress(), StatementSigner.Generate(), name)).Status());
        await fixture.WaitForProjectionsAsync();
        var first = await Host.Get(ProtectionFixture.NewAddress(), $"/v1/packages/{name}");
        Assert.Equal(200, first.Status());

        var notModified = await Host.Get(ProtectionFixture.NewAddress(), $"/v1/packages/{name}",
            s => s.WithRequestHeader("If-None-Match", first.Header("ETag")));

        Assert.Equal(304, notModified.Status());
        AssertSecurityHeaders(notModified);
    }

    [Fact]
    public async Task a_429_carries_the_security_headers()
    {
        var address = ProtectionFixture.NewAddress();
        IScenarioResult last = null!;
        for (var i = 0; i < 4; i++)
            last = await Host.Publish(address, StatementSigner.Generate(), UniqueName());
        Assert.Equal(429, last.Status());
        AssertSecurityHeaders(last);
    }

    [Fact]
    public async Task strict_transport_security_is_sent_over_https_only()
    {
        var direct = await Host.Get(ProtectionFixture.NewAddress(), "/health/live", s => s.ConfigureHttpContext(c => c.Request.Scheme = "https"));
        AssertSecurityHeaders(direct, https: true);

        // Behind a trusted proxy that terminated TLS.
        var forwarded = await Host.Get(ProtectionFixture.NewAddress(), "/health/live", s => s.WithRequestHeader("X-Forwarded-Proto", "https"));
        AssertSecurityHeaders(forwarded, https: true);

        AssertSecurityHeaders(await Host.Get(ProtectionFixture.NewAddress(), "/health/live"));
    }

    [Fact]
    public void routes_carry_their_request_timeouts()
    {
        var endpoints = Host.Services.GetRequiredService<EndpointDataSource>().Endpoints;
        Endpoint Named(string name) => endpoints.Single(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == name);

        Assert.Equal(ProtectionServices.PublishTimeout, Named("PublishVersion").Metadata.GetMetadata<RequestTimeoutAttribute>()?.PolicyName);
        Assert.NotNull(Named("DownloadLocalBlob").Metadata.GetMetadata<DisableRequestTimeoutAttribute>());
        Assert.NotNull(Named("UploadLocalBlob").Metadata.GetMetadata<DisableRequestTimeoutAttribute>());
        var options = Host.Services.GetRequiredService<IOptions<RequestTimeoutOptions>>().Value;
        Assert.Equal(ProtectionServices.DefaultTimeout, options.DefaultPolicy!.Timeout);
        Assert.Equal(ProtectionServices.PublishTimeoutValue, options.Policies[ProtectionServices.PublishTimeout].Timeout);
    }
}

/// <summary>The local profile (what every other fixture, <c>infra/run</c> and the benchmark get) stays out of the way.</summary>
[Collection("file store")]
public sealed class LocalProfileScenarios(FileStoreFixture fixture)
{
    [Fact]
    public async Task loopback_and_in_process_clients_are_exempt_and_others_get_generous_quotas()
    {
        var inProcess = await fixture.Host.Scenario(s =>
        {
            var blob = RandomBlob(64);
            var name = UniqueName();
            s.Put.Json(PublishBody(StatementSigner.Generate(), Statement(name, "1.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/1.0.0");
            s.StatusCodeShouldBe(201);
        });
        Assert.Empty(inProcess.Header("RateLimit"));

        var loopback = await fixture.Host.Scenario(s =>
        {
            s.Get.Url("/.well-known/marketplace");
            s.ConfigureHttpContext(c => c.Connection.RemoteIpAddress = System.Net.IPAddress.IPv6Loopback);
        });
        var rateLimits = System.Text.Json.JsonDocument.Parse(await loopback.ReadAsTextAsync()).RootElement.GetProperty("limits").GetProperty("rateLimits");
        Assert.True(rateLimits.GetProperty("exemptLoopback").GetBoolean());
        var publish = rateLimits.GetProperty("policies").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "publish-address");
        Assert.Equal(1200, publish.GetProperty("quota").GetInt32());

        // A client on another machine is limited, and X-Forwarded-For is not trusted by default.
        var remote = await fixture.Host.Scenario(s =>
        {
            var blob = RandomBlob(64);
            var name = UniqueName();
            s.Put.Json(PublishBody(StatementSigner.Generate(), Statement(name, "1.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/1.0.0");
            s.ConfigureHttpContext(c => c.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("192.0.2.10"));
            s.WithRequestHeader("X-Forwarded-For", "127.0.0.1");
            s.StatusCodeShouldBe(201);
        });
        Assert.Equal(1199, remote.Items("RateLimit")["publish-address"]["r"]);
        Assert.Equal(599, remote.Items("RateLimit")["publish-key"]["r"]);
    }
}
