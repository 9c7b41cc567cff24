using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Marketplace.Functions.Azure;
using Marketplace.Signing;
using Marketplace.Testing;
using Marketplace.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;

namespace Marketplace.Tests.Deployment;

/// <summary>
/// The isolated worker's function classes, in-process through their public entry points, against real PostgreSQL.
/// The Functions host cannot run here: a TestServer stands in for the worker's own ASP.NET Core server and routes each
/// request to the function method the generated <c>functions.metadata</c> routes it to; the timer is called directly.
/// </summary>
public sealed class AzureWorkerFunctionTests : IAsyncLifetime
{
    private readonly string _schema = "az_" + Guid.NewGuid().ToString("n")[..12];
    private readonly string _blobs = Path.Combine(Path.GetTempPath(), "mkt-az-" + Guid.NewGuid().ToString("n")[..12]);
    private MarketplaceApp _app = null!;
    private MarketplaceFunctions _functions = null!;
    private WebApplication _worker = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Marketplace"] = TestEnvironment.Postgres,
            ["Marten:Schema"] = _schema,
            ["Marten:Daemon"] = "Disabled",
            ["Blobs:Store"] = "file",
            ["Blobs:File:Root"] = _blobs,
            ["Protection:Profile"] = "production",
            ["Protection:RateLimits:Download:PerAddress"] = "3",
            // A worker outside Development refuses to start without the registry key (a Key Vault reference on Azure).
            ["Registry:SigningKey"] = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData("azure worker registry key"u8)),
            ["Logging:LogLevel:Default"] = "Warning",
        }).Build();
        _app = await MarketplaceApp.StartAsync(configuration);
        _functions = new MarketplaceFunctions(_app);

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        _worker = builder.Build();
        _worker.MapPut(MarketplaceFunctions.PublishRoute, async (HttpContext c) => { await _functions.Publish(c.Request); });
        _worker.MapGet(MarketplaceFunctions.DownloadRoute, async (HttpContext c) => { await _functions.Download(c.Request); });
        _worker.MapMethods(MarketplaceFunctions.ApiRoute.Replace("{*", "{**", StringComparison.Ordinal), ["GET", "HEAD", "POST", "PUT", "DELETE"], async (HttpContext c) => { await _functions.Api(c.Request); });
        await _worker.StartAsync();
        _http = _worker.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        await _worker.DisposeAsync();
        await _app.DisposeAsync();
        await TestDatabase.DropSchemaAsync(_schema);
        if (Directory.Exists(_blobs)) Directory.Delete(_blobs, recursive: true);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-Forwarded-For", "203.0.113.7");
        if (body is not null) request.Content = JsonContent.Create(body, options: Support.Packages.Json);
        return await _http.SendAsync(request);
    }

    private static void HasSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task publish_download_and_yank_go_through_the_worker_functions_and_the_timer_catches_the_read_models_up()
    {
        var owner = StatementSigner.Generate();
        var name = Support.Packages.UniqueName("azure");
        var blob = Support.Packages.RandomBlob(2048);

        using var published = await SendAsync(HttpMethod.Put, $"/v1/packages/{name}/1.0.0", Support.Packages.PublishBody(owner, Support.Packages.Statement(name, "1.0.0", blob), blob));
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        HasSecurityHeaders(published);
        Assert.True((await published.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sequence").GetInt64() > 0);

        using var download = await SendAsync(HttpMethod.Get, $"/v1/packages/{name}/1.0.0/download");
        Assert.Equal(HttpStatusCode.Found, download.StatusCode);
        HasSecurityHeaders(download);

        using var yank = await SendAsync(HttpMethod.Post, $"/v1/packages/{name}/1.0.0/yank", Support.Packages.YankBody(owner, "yank", name, "1.0.0"));
        Assert.Equal(HttpStatusCode.OK, yank.StatusCode);

        // Nothing applies the read models until the timer runs (no daemon in a Function App): the package is read from its
        // stream (yanked already), its download is not counted yet.
        using (var before = await SendAsync(HttpMethod.Get, $"/v1/packages/{name}"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
            var early = await before.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(early.GetProperty("versions").EnumerateArray().Single().GetProperty("yanked").GetBoolean());
            Assert.Equal(0, early.GetProperty("downloads").GetInt64());
        }
        await _functions.Projections(new TimerInfo(), CancellationToken.None);
        using var package = await SendAsync(HttpMethod.Get, $"/v1/packages/{name}");
        Assert.Equal(HttpStatusCode.OK, package.StatusCode);
        var body = await package.Content.ReadFromJsonAsync<JsonElement>();
        var version = body.GetProperty("versions").EnumerateArray().Single();
        Assert.True(version.GetProperty("yanked").GetBoolean());
        Assert.Equal(1, body.GetProperty("downloads").GetInt64());
    }

    [Fact]
    public async Task bad_input_rate_limits_and_security_headers_apply_to_function_invocations()
    {
        using var bad = await SendAsync(HttpMethod.Put, "/v1/packages/Not%20A%20Name/1.0.0", new { envelope = new { }, publicKey = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        Assert.Equal("invalid-name", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        HasSecurityHeaders(bad);

        // The production profile's per-address download quota (3 here) counts invocations of the Download function.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var r = await SendAsync(HttpMethod.Get, "/v1/packages/no-such-package/1.0.0/download");
            statuses.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("rate-limited", (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
                Assert.True(r.Headers.RetryAfter is not null);
                HasSecurityHeaders(r);
            }
        }
        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public void the_generated_functions_metadata_names_the_triggers_routes_methods_and_auth_levels()
    {
        var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions.metadata"))).RootElement;
        var functions = metadata.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("bindings")[0]);
        Assert.Equal(["Api", "Download", "Projections", "Publish"], functions.Keys.Order(StringComparer.Ordinal));
        void Http(string name, string route, params string[] methods)
        {
            var trigger = functions[name];
            Assert.Equal("httpTrigger", trigger.GetProperty("type").GetString());
            Assert.Equal("Anonymous", trigger.GetProperty("authLevel").GetString());
            Assert.Equal(route, trigger.GetProperty("route").GetString());
            Assert.Equal(methods, trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!));
        }
        Http("Publish", "v1/packages/{name}/{version}", "put");
        Http("Download", "v1/packages/{name}/{version}/download", "get");
        Http("Api", "{*path}", "get", "head", "post", "put", "delete");
        Assert.Equal("timerTrigger", functions["Projections"].GetProperty("type").GetString());
        Assert.Equal("0 */1 * * * *", functions["Projections"].GetProperty("schedule").GetString());
    }
}
