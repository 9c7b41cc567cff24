using System.Text.Json;
using Marketplace.Functions.Azure;
using Marketplace.Tests.Support;

namespace Marketplace.Tests.Deployment;

/// <summary>
/// infra/azure against the isolated worker: main.bicep deploys functions/Marketplace.Functions.Azure (its generated
/// functions.metadata, copied into this test's output by the project reference) with the dotnet-isolated runtime;
/// the custom handler and its function.json folders are gone.
/// </summary>
[Collection("http function")]
public sealed class AzureFunctionsTests(HttpFunctionFixture fixture)
{
    private static JsonElement Metadata =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions.metadata"))).RootElement.Clone();

    private static Dictionary<string, JsonElement> Triggers =>
        Metadata.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("bindings")[0]);

    private static JsonElement Arm()
    {
        var (exit, stdout, stderr) = Run.Program(Run.Bicep(), "build", Repository.Path("infra", "azure", "main.bicep"), "--stdout");
        Assert.True(exit == 0 && stderr.Trim().Length == 0, $"bicep build: exit {exit}\n{stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private static List<string> Names(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToList();

    [Fact]
    public void the_worker_host_json_gives_the_functions_their_routes_unprefixed_and_time_for_a_catch_up()
    {
        // The custom handler's host.json and function.json folders went with it.
        Assert.False(File.Exists(Repository.Path("infra", "azure", "host.json")));
        Assert.Empty(Directory.EnumerateFiles(Repository.Path("infra", "azure"), "function.json", SearchOption.AllDirectories));

        var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "host.json"))).RootElement;
        Assert.Equal("2.0", host.GetProperty("version").GetString());
        Assert.False(host.TryGetProperty("customHandler", out _), "the worker is no custom handler");
        Assert.Equal("", host.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        // The projections app's catch-up deadline ends before the host cancels the invocation.
        var timeout = TimeSpan.Parse(host.GetProperty("functionTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var deadline = System.Text.RegularExpressions.Regex.Match(Repository.Read("infra", "azure", "main.bicep"), @"'Projections__CatchUpDeadline', value: '([0-9:]+)'").Groups[1].Value;
        Assert.True(TimeSpan.Parse(deadline, System.Globalization.CultureInfo.InvariantCulture) < timeout, $"catch-up deadline {deadline} is not within functionTimeout {timeout}");
    }

    [Fact]
    public void the_catch_all_function_accepts_every_route_and_method_the_app_serves()
    {
        var triggers = Triggers;
        var api = triggers["Api"];
        Assert.Equal("{*path}", api.GetProperty("route").GetString());
        var methods = api.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToHashSet();
        foreach (var route in AppRoutes.Of(fixture.Host))
            Assert.True(methods.Contains(route.Method), $"{route}: the Api function does not accept {route.Method}");
        // Publish and Download are app routes too, with their own functions.
        var app = AppRoutes.Of(fixture.Host);
        foreach (var name in new[] { "Publish", "Download" })
        {
            var trigger = triggers[name];
            var route = new Route(Assert.Single(trigger.GetProperty("methods").EnumerateArray()).GetString()!.ToUpperInvariant(), "/" + trigger.GetProperty("route").GetString());
            Assert.Contains(route, app);
        }
        // The catch-up is the timer's, called directly: the HTTP catch-up route stays off on every Azure app.
        Assert.DoesNotContain("Projections__CatchUpEndpoint", Repository.Read("infra", "azure", "main.bicep"), StringComparison.Ordinal);
    }

    [Fact]
    public void main_bicep_compiles_and_splits_the_worker_functions_between_the_two_apps_as_functions_metadata_names_them()
    {
        var arm = Arm();
        Assert.Contains(arm.GetProperty("resources").EnumerateArray(), r => r.GetProperty("type").GetString() == "Microsoft.Web/sites");
        var variables = arm.GetProperty("variables");
        var http = Names(variables.GetProperty("httpFunctions"));
        var timers = Names(variables.GetProperty("timerFunctions"));
        var triggers = Triggers;
        Assert.Equal(triggers.Where(t => t.Value.GetProperty("type").GetString() == "httpTrigger").Select(t => t.Key).Order(StringComparer.Ordinal), http.Order(StringComparer.Ordinal));
        Assert.Equal(triggers.Where(t => t.Value.GetProperty("type").GetString() == "timerTrigger").Select(t => t.Key).Order(StringComparer.Ordinal), timers.Order(StringComparer.Ordinal));

        // api disables the timers, projections disables the HTTP functions (and runs one instance).
        var apps = variables.GetProperty("apps").EnumerateArray().ToDictionary(a => a.GetProperty("role").GetString()!);
        Assert.Equal(["api", "projections"], apps.Keys.Order(StringComparer.Ordinal));
        Assert.StartsWith("[concat(map(variables('timerFunctions'), lambda('f', createObject('name', format('AzureWebJobs.{0}.Disabled'", apps["api"].GetProperty("settings").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("[concat(map(variables('httpFunctions'), lambda('f', createObject('name', format('AzureWebJobs.{0}.Disabled'", apps["projections"].GetProperty("settings").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, apps["projections"].GetProperty("scaleLimit").GetInt32());
    }

    [Fact]
    public void main_bicep_keeps_blobs_in_a_private_container_served_through_the_azure_blob_store()
    {
        var arm = Arm();
        var resources = arm.GetProperty("resources").EnumerateArray().ToList();
        var container = Assert.Single(resources, r => r.GetProperty("type").GetString() == "Microsoft.Storage/storageAccounts/blobServices/containers");
        Assert.Equal("None", container.GetProperty("properties").GetProperty("publicAccess").GetString());
        Assert.Equal("packages", arm.GetProperty("variables").GetProperty("blobContainer").GetString());
        // No Azure Files share mounted for blobs any more: the app stores them through Blobs:Store=azure.
        Assert.DoesNotContain(resources, r => r.GetProperty("type").GetString() == "Microsoft.Storage/storageAccounts/fileServices/shares");
        var settings = Assert.Single(resources, r => r.GetProperty("type").GetString() == "Microsoft.Web/sites")
            .GetProperty("properties").GetProperty("siteConfig").GetProperty("appSettings").GetRawText();
        Assert.DoesNotContain("AzureFiles", settings, StringComparison.Ordinal);

        var bicep = Repository.Read("infra", "azure", "main.bicep");
        Assert.Contains("{ name: 'Blobs__Store', value: 'azure' }", bicep, StringComparison.Ordinal);
        Assert.Contains("{ name: 'Blobs__Azure__Container', value: packagesContainer.name }", bicep, StringComparison.Ordinal);
        // The connection string holds the account key that signs the SAS URLs: a Key Vault reference, never plain.
        Assert.Contains("{ name: 'Blobs__Azure__ConnectionString', value: '@Microsoft.KeyVault(SecretUri=${blobConnectionSecret.properties.secretUri})' }", bicep, StringComparison.Ordinal);
        Assert.DoesNotContain("Blobs__File__", bicep, StringComparison.Ordinal);
        // Staged uploads no publish promoted expire.
        Assert.Contains(resources, r => r.GetProperty("type").GetString() == "Microsoft.Storage/storageAccounts/managementPolicies");
    }

    [Fact]
    public void main_bicep_puts_front_door_before_the_content_addressed_blobs_only_and_gives_the_app_its_url()
    {
        var arm = Arm();
        var resources = arm.GetProperty("resources").EnumerateArray().ToList();
        JsonElement Of(string type) => Assert.Single(resources, r => r.GetProperty("type").GetString() == type);
        var profile = Of("Microsoft.Cdn/profiles");
        Assert.Equal("Standard_AzureFrontDoor", profile.GetProperty("sku").GetProperty("name").GetString());
        Of("Microsoft.Cdn/profiles/afdEndpoints");
        Of("Microsoft.Cdn/profiles/originGroups");
        var origin = Of("Microsoft.Cdn/profiles/originGroups/origins").GetProperty("properties");
        Assert.Equal("[variables('blobHost')]", origin.GetProperty("hostName").GetString());
        Assert.Equal("[variables('blobHost')]", origin.GetProperty("originHostHeader").GetString());
        Assert.True(origin.GetProperty("enforceCertificateNameCheck").GetBoolean());
        Assert.Contains("var blobHost = '${storageName}.blob.${environment().suffixes.storage}'", Repository.Read("infra", "azure", "main.bicep"), StringComparison.Ordinal);

        // One route, HTTPS only end to end, for the content-addressed blobs of the packages container and nothing
        // else: staged uploads (packages/uploads/…) are never reachable through the CDN.
        var route = Of("Microsoft.Cdn/profiles/afdEndpoints/routes").GetProperty("properties");
        Assert.Equal("packages", arm.GetProperty("variables").GetProperty("blobContainer").GetString());
        Assert.Equal(["[format('/{0}/sha256/*', variables('blobContainer'))]"], Names(route.GetProperty("patternsToMatch")));
        Assert.Equal(["Https"], Names(route.GetProperty("supportedProtocols")));
        Assert.Equal("HttpsOnly", route.GetProperty("forwardingProtocol").GetString());
        Assert.False(route.TryGetProperty("originPath", out _), "the CDN path is the blob's path on the account, so the SAS signs it unchanged");
        var cache = route.GetProperty("cacheConfiguration");
        Assert.False(cache.GetProperty("compressionSettings").GetProperty("isCompressionEnabled").GetBoolean());
        Assert.Equal("IncludeSpecifiedQueryStrings", cache.GetProperty("queryStringCachingBehavior").GetString());
        Assert.Equal("[join(variables('cdnSasParameters'), ',')]", cache.GetProperty("queryParameters").GetString());

        // The cache key holds every parameter of the SAS the app puts on a CDN download URL, and nothing else.
        var store = new Marketplace.Functions.Blobs.AzureBlobStore(new Marketplace.Functions.Blobs.AzureBlobOptions
        {
            ConnectionString = TestEnvironment.Azure, Container = "packages", CdnBaseUrl = "https://cdn.example.test",
        }, TimeProvider.System);
        var url = store.GetDownloadUrl(new string('a', 64), "pkg-1.0.0", TimeSpan.FromMinutes(5), new Uri("http://localhost"));
        Assert.Equal($"/packages/{Marketplace.Blobs.Digest.BlobKey(new string('a', 64))}", url.AbsolutePath);
        var emitted = System.Web.HttpUtility.ParseQueryString(url.Query).AllKeys.Select(k => k!).Order(StringComparer.Ordinal);
        Assert.Equal(emitted, Names(arm.GetProperty("variables").GetProperty("cdnSasParameters")).Order(StringComparer.Ordinal));

        // Both apps are told the endpoint's host; the deployment outputs it.
        var bicep = Repository.Read("infra", "azure", "main.bicep");
        var lines = bicep.Split('\n').Select(l => l.Trim()).Where(l => l.Contains("Blobs__Azure__CdnBaseUrl", StringComparison.Ordinal) && !l.StartsWith("//", StringComparison.Ordinal)).ToList();
        Assert.Equal(["{ name: 'Blobs__Azure__CdnBaseUrl', value: 'https://${blobEndpoint.properties.hostName}' }"], lines);
        Assert.True(bicep.IndexOf(lines[0], StringComparison.Ordinal) < bicep.IndexOf("var httpFunctions", StringComparison.Ordinal), "in commonSettings");
        var output = arm.GetProperty("outputs").GetProperty("cdnUrl").GetProperty("value").GetString()!;
        Assert.StartsWith("[format('https://{0}', reference(resourceId('Microsoft.Cdn/profiles/afdEndpoints'", output, StringComparison.Ordinal);
        Assert.EndsWith(".hostName)]", output, StringComparison.Ordinal);
    }

    [Fact]
    public void main_bicep_runs_the_isolated_worker_with_secrets_from_key_vault()
    {
        var site = Arm().GetProperty("resources").EnumerateArray().Single(r => r.GetProperty("type").GetString() == "Microsoft.Web/sites");
        var config = site.GetProperty("properties").GetProperty("siteConfig");
        Assert.Equal("DOTNET-ISOLATED|10.0", config.GetProperty("linuxFxVersion").GetString());
        var settings = config.GetProperty("appSettings").GetRawText();
        Assert.Contains("'FUNCTIONS_WORKER_RUNTIME', 'value', 'dotnet-isolated'", settings, StringComparison.Ordinal);
        Assert.DoesNotContain("'Custom'", settings, StringComparison.Ordinal);

        var bicep = Repository.Read("infra", "azure", "main.bicep");
        Assert.Contains("{ name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }", bicep, StringComparison.Ordinal);
        Assert.Contains("{ name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }", bicep, StringComparison.Ordinal);
        Assert.Contains("{ name: 'ConnectionStrings__Marketplace', value: '@Microsoft.KeyVault(SecretUri=", bicep, StringComparison.Ordinal);
        Assert.Contains("{ name: 'Marten__ApplySchemaOnStartup', value: 'false' }", bicep, StringComparison.Ordinal);
        // The api instances run no daemon; the projections app's timer catches up (Marten's multi-node daemon needs a
        // long-lived process, which Consumption instances are not).
        Assert.Contains("{ name: 'Marten__Daemon', value: 'Disabled' }", bicep, StringComparison.Ordinal);
        Assert.Contains("sku: { name: 'Y1', tier: 'Dynamic' }", bicep, StringComparison.Ordinal);
        Assert.Equal(MarketplaceFunctions.ProjectionsSchedule, Triggers["Projections"].GetProperty("schedule").GetString());
    }

    [Fact]
    public void the_registry_key_reaches_both_apps_only_as_a_key_vault_reference()
    {
        // Both apps sign: api serves /.well-known and checkpoints, projections signs the log and webhook deliveries.
        var bicep = Repository.Read("infra", "azure", "main.bicep");
        var lines = bicep.Split('\n').Where(l => l.Contains("Registry__SigningKey", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
        Assert.Equal(["{ name: 'Registry__SigningKey', value: '@Microsoft.KeyVault(SecretUri=${registryKeySecret.properties.secretUri})' }"], lines);
        Assert.Contains("var commonSettings = [", bicep, StringComparison.Ordinal);
        Assert.Contains("appSettings: concat(commonSettings, app.settings", bicep, StringComparison.Ordinal);
        Assert.DoesNotContain("Registry__SigningKeyRequired", bicep, StringComparison.Ordinal);
        // The seed is a secure parameter that lands in Key Vault, and each app's identity may read secrets there.
        var parameters = Arm().GetProperty("parameters");
        Assert.Equal("securestring", parameters.GetProperty("registrySigningKey").GetProperty("type").GetString());
        Assert.False(parameters.GetProperty("registrySigningKey").TryGetProperty("defaultValue", out _), "no throwaway default key");
        Assert.Contains("properties: { value: registrySigningKey }", bicep, StringComparison.Ordinal);
        Assert.Contains("resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (app, i) in apps:", bicep, StringComparison.Ordinal);
    }
}
