using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Marketplace.Functions.Serverless;
using Marketplace.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace Marketplace.Tests.Deployment;

/// <summary>infra/azure against the app: the custom handler, the catch-all HTTP function, the timer, main.bicep.</summary>
[Collection("http function")]
public sealed class AzureFunctionsTests(HttpFunctionFixture fixture)
{
    private static JsonElement ReadJson(params string[] path) => JsonDocument.Parse(Repository.Read(["infra", "azure", .. path])).RootElement.Clone();

    private static IEnumerable<string> FunctionFolders =>
        Directory.EnumerateDirectories(Repository.Path("infra", "azure")).Where(d => File.Exists(Path.Combine(d, "function.json"))).Select(Path.GetFileName)!;

    [Fact]
    public void the_host_runs_the_app_as_a_custom_handler_with_requests_proxied_at_their_own_paths()
    {
        var host = ReadJson("host.json");
        Assert.Equal("2.0", host.GetProperty("version").GetString());
        Assert.Equal("", host.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        var handler = host.GetProperty("customHandler");
        Assert.Equal(FunctionsProject.AssemblyName, handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString());
        Assert.True(handler.GetProperty("enableProxyingHttpRequest").GetBoolean());
        Assert.False(handler.TryGetProperty("enableForwardingHttpRequest", out _), "one mode: proxying");
    }

    [Fact]
    public void the_http_function_covers_every_route_and_method_the_app_serves()
    {
        var http = FunctionFolders.Where(f => ReadJson(f, "function.json").GetProperty("bindings").EnumerateArray()
            .Any(b => b.GetProperty("type").GetString() == "httpTrigger")).ToList();
        var api = Assert.Single(http);
        var bindings = ReadJson(api, "function.json").GetProperty("bindings").EnumerateArray().ToList();
        // Proxying applies only to an HTTP trigger whose one output is http.
        Assert.Equal([("httpTrigger", "in"), ("http", "out")], bindings.Select(b => (b.GetProperty("type").GetString(), b.GetProperty("direction").GetString())));
        var trigger = bindings[0];
        Assert.Equal("anonymous", trigger.GetProperty("authLevel").GetString());
        Assert.Equal("{*path}", trigger.GetProperty("route").GetString());
        var methods = trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToHashSet();
        foreach (var route in AppRoutes.Of(fixture.Host))
            Assert.True(methods.Contains(route.Method), $"{route}: the HTTP trigger does not accept {route.Method}");
        // The local file store's signed URLs (the blob store on Azure) are GET and PUT.
        Assert.Superset(new HashSet<string> { "GET", "PUT", "POST", "HEAD" }, methods);
    }

    [Fact]
    public void the_timer_posts_to_the_catch_up_route_on_the_app()
    {
        var timers = FunctionFolders.Where(f => ReadJson(f, "function.json").GetProperty("bindings").EnumerateArray()
            .Any(b => b.GetProperty("type").GetString() == "timerTrigger")).ToList();
        var timer = Assert.Single(timers);
        // The host POSTs a timer invocation to /<function folder>.
        Assert.Equal(ProjectionCatchUp.AzureTimerPath, "/" + timer);
        Assert.Contains(new Route("POST", ProjectionCatchUp.AzureTimerPath), AppRoutes.Of(fixture.Host));
        var binding = Assert.Single(ReadJson(timer, "function.json").GetProperty("bindings").EnumerateArray());
        Assert.Equal(6, binding.GetProperty("schedule").GetString()!.Split(' ').Length);
    }

    [Fact]
    public void main_bicep_compiles_without_warnings_and_configures_both_apps()
    {
        var (exit, stdout, stderr) = Run.Program(Run.Bicep(), "build", Repository.Path("infra", "azure", "main.bicep"), "--stdout");
        Assert.True(exit == 0 && stderr.Trim().Length == 0, $"bicep build: exit {exit}\n{stderr}");
        var arm = JsonDocument.Parse(stdout).RootElement;
        Assert.Contains(arm.GetProperty("resources").EnumerateArray(), r => r.GetProperty("type").GetString() == "Microsoft.Web/sites");

        var bicep = Repository.Read("infra", "azure", "main.bicep");
        Assert.Contains("{ name: 'FUNCTIONS_WORKER_RUNTIME', value: 'Custom' }", bicep, StringComparison.Ordinal);
        Assert.Contains("{ name: 'ConnectionStrings__Marketplace', value: '@Microsoft.KeyVault(SecretUri=", bicep, StringComparison.Ordinal);
        Assert.Contains("{ name: 'Marten__ApplySchemaOnStartup', value: 'false' }", bicep, StringComparison.Ordinal);
        Assert.Contains("{ name: 'Marten__Daemon', value: 'Disabled' }", bicep, StringComparison.Ordinal);
        Assert.Contains("sku: { name: 'Y1', tier: 'Dynamic' }", bicep, StringComparison.Ordinal);
        // The api app disables the timer; the projections app disables the HTTP function, runs one instance, answers the catch-up.
        var api = FunctionFolders.Single(f => f != ProjectionCatchUp.AzureTimerPath.Trim('/'));
        Assert.Contains($"{{ name: 'AzureWebJobs.{ProjectionCatchUp.AzureTimerPath.Trim('/')}.Disabled', value: 'true' }}", bicep, StringComparison.Ordinal);
        Assert.Contains($"{{ name: 'AzureWebJobs.{api}.Disabled', value: 'true' }}", bicep, StringComparison.Ordinal);
        Assert.Single(bicep.Split('\n'), l => l.Contains("Projections__CatchUpEndpoint", StringComparison.Ordinal));
        Assert.Contains("scaleLimit: 1", bicep, StringComparison.Ordinal);
    }

    [Fact]
    public async Task the_app_listens_on_the_port_the_functions_host_gives_it()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [ServerlessHosting.AzureCustomHandlerPort] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["urls"] = "http://127.0.0.1:1",
        });
        builder.Services.AddServerless(builder.Configuration);
        await using var app = builder.Build();
        app.MapGet("/", () => "handler");
        await app.StartAsync();
        try
        {
            using var client = new HttpClient();
            Assert.Equal("handler", await client.GetStringAsync(new Uri($"http://127.0.0.1:{port}/")));
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
