using Marketplace.Functions.Serverless;
using Marketplace.Tests.Support;

namespace Marketplace.Tests.Deployment;

/// <summary>
/// template.yaml against the app: routes, IAM, handler, configuration. <c>sam validate</c> needs AWS credentials and
/// the network, neither of which exists here; these checks are what can be known offline, and they know the app.
/// </summary>
[Collection("http function")]
public sealed class SamTemplateTests(HttpFunctionFixture fixture)
{
    private static readonly object? Template = CloudFormationYaml.Parse(Repository.Read("template.yaml"));
    private static IDictionary<string, object?> Resources => Template.Map("Resources");
    private static IDictionary<string, object?> Globals => Template.Map("Globals").Map("Function");

    private static readonly string[] SecretGrant = ["secretsmanager:GetSecretValue ${DatabaseSecretArn}"];
    private const string KeyGrant = "secretsmanager:GetSecretValue ${RegistrySigningKeySecretArn}";

    /// <summary>
    /// What each route does to S3, from the blob store's calls (the database, through the secret, is every route's).
    /// A route missing here fails the tests: say what it needs, then route it.
    /// </summary>
    private static readonly Dictionary<string, string[]> S3Needs = new()
    {
        // Is the blob stored (HEAD), store it inline or promote the staged upload (read, hash, put, delete), remove a
        // blob only the loser of a race wrote. Without ListBucket a missing key answers 403, not 404.
        ["PUT /v1/packages/{name}/{version}"] =
        [
            "s3:GetObject ${Blobs.Arn}/sha256/*", "s3:PutObject ${Blobs.Arn}/sha256/*", "s3:DeleteObject ${Blobs.Arn}/sha256/*",
            "s3:GetObject ${Blobs.Arn}/uploads/*", "s3:DeleteObject ${Blobs.Arn}/uploads/*", "s3:ListBucket ${Blobs.Arn}",
        ],
        // Is it stored already; else a presigned PUT into uploads/, which carries the signer's rights.
        ["POST /v1/uploads"] = ["s3:GetObject ${Blobs.Arn}/sha256/*", "s3:ListBucket ${Blobs.Arn}", "s3:PutObject ${Blobs.Arn}/uploads/*"],
        ["POST /v1/packages/{name}/{version}/yank"] = [],
        ["POST /v1/packages/{name}/owners"] = [],
        ["POST /v1/packages/{name}/trusted-publishers"] = [],
        ["GET /v1/packages/{name}/trusted-publishers"] = [],
        // Verifies a CI job's ID token (the issuer's keys come over HTTPS) and signs a certificate: no blobs.
        ["POST /v1/trusted-publishing/exchange"] = [],
        // A presigned GET (when no CDN is configured) carries the signer's rights.
        ["GET /v1/packages/{name}/{version}/download"] = ["s3:GetObject ${Blobs.Arn}/sha256/*"],
        ["GET /v1/packages/{name}"] = [],
        ["GET /v1/packages/{name}/{version}"] = [],
        ["GET /v1/packages/{name}/owners"] = [],
        ["GET /v1/packages/{name}/downloads"] = [],
        ["GET /v1/search"] = [],
        ["GET /v1/search/suggest"] = [],
        // The web pages read the read models, the log and the search port; a version page links to the download route.
        ["GET /"] = [],
        ["GET /search"] = [],
        ["GET /packages/{name}"] = [],
        ["GET /packages/{name}/{version}"] = [],
        ["GET /packages/{name}/history"] = [],
        ["GET /keys/{keyId}"] = [],
        ["GET /log"] = [],
        ["GET /docs"] = [],
        ["GET /assets/{file}"] = [],
        ["GET /v1/events"] = [],
        ["GET /v1/packages/{name}/events"] = [],
        ["GET /v1/log/checkpoint"] = [],
        ["GET /v1/log/leaves/{index}"] = [],
        ["GET /v1/log/proof/inclusion"] = [],
        ["GET /v1/log/proof/consistency"] = [],
        ["GET /.well-known/marketplace"] = [],
        ["GET /openapi/{documentName}.json"] = [],
        ["GET /health/live"] = [],
        // Lists one key to see S3 answer; AccessDenied is an answer (the read function may not list, by design).
        ["GET /health/ready"] = [],
        ["GET /metrics"] = [],
        // Subscriptions and their delivery log live in PostgreSQL only.
        ["POST /v1/webhooks"] = [],
        ["GET /v1/webhooks/{id}"] = [],
        ["GET /v1/webhooks/{id}/deliveries"] = [],
    };

    private static IEnumerable<(string Function, IDictionary<string, object?> Properties)> Functions =>
        Resources.Where(r => r.Value.Text("Type") == "AWS::Serverless::Function")
            .Select(r => (r.Key, r.Value.MapOrNull("Properties") ?? new Dictionary<string, object?>()));

    private static IEnumerable<(string Function, string Event, Route Route)> PublicRoutes =>
        from f in Functions
        from e in f.Properties.MapOrNull("Events") ?? new Dictionary<string, object?>()
        where e.Value.Text("Type") == "HttpApi"
        let p = e.Value.Map("Properties")
        select (f.Function, e.Key, new Route(p.Text("Method")!.ToUpperInvariant(), p.Text("Path")!));

    private static string? Env(IDictionary<string, object?> properties, string name) =>
        properties.MapOrNull("Environment")?.MapOrNull("Variables") is { } v && v.TryGetValue(name, out var value) ? value as string ?? CloudFormationYaml.Render(value) : null;

    private static string? GlobalEnv(string name) => Env(Globals, name);

    private IReadOnlyList<Route> AppServes => AppRoutes.Of(fixture.Host);

    [Fact]
    public void every_route_the_app_serves_is_routed_to_exactly_one_function()
    {
        var routed = PublicRoutes.ToList();
        var app = AppServes.Where(r => !AppRoutes.IsCatchUp(r)).ToList();
        Assert.NotEmpty(app);
        foreach (var route in app)
        {
            var functions = routed.Where(r => AppRoutes.Serves(r.Route, route)).Select(r => r.Function).ToList();
            Assert.True(functions.Count == 1, $"{route} is routed to {functions.Count} functions in template.yaml ({string.Join(", ", functions)}); it needs exactly one.");
        }
    }

    [Fact]
    public void every_public_route_is_one_the_app_serves()
    {
        var app = AppServes;
        foreach (var (function, name, route) in PublicRoutes)
            Assert.True(app.Any(a => AppRoutes.Serves(route, a)), $"{function}.{name} routes {route}, which the app does not serve.");
        Assert.All(PublicRoutes, r => Assert.Equal("Api", Resources[r.Function].Map("Properties").Map("Events").Map(r.Event).Map("Properties").Map("ApiId").Text("Ref")));
    }

    [Fact]
    public void the_catch_up_routes_are_reachable_only_through_the_projections_function()
    {
        var app = AppServes;
        Assert.Contains(new Route("POST", ProjectionCatchUp.Path), app);
        foreach (var (function, name, route) in PublicRoutes)
        {
            Assert.False(AppRoutes.IsCatchUp(route), $"{function}.{name} puts the catch-up route {route} on the public API.");
            // A greedy or default route would reach it too.
            Assert.DoesNotContain("+}", route.Path, StringComparison.Ordinal);
            Assert.NotEqual("$default", route.Path);
            Assert.NotEqual("ANY", route.Method);
        }
        // Only the projections function answers it; elsewhere the route is 404 even when reached.
        foreach (var (function, properties) in Functions)
            Assert.Equal(function == "ProjectionsFunction" ? "true" : null, Env(properties, "Projections__CatchUpEndpoint"));
        Assert.Null(GlobalEnv("Projections__CatchUpEndpoint"));
    }

    [Fact]
    public void each_function_is_granted_only_what_its_routes_use()
    {
        var unknown = AppServes.Where(r => !AppRoutes.IsCatchUp(r) && !S3Needs.ContainsKey(r.ToString())).ToList();
        Assert.True(unknown.Count == 0, $"Say what these routes need from S3 in {nameof(S3Needs)}: {string.Join(", ", unknown)}");
        Assert.False(Globals.ContainsKey("Policies"), "policies are per function");

        foreach (var (function, properties) in Functions)
        {
            var routes = PublicRoutes.Where(r => r.Function == function)
                .SelectMany(r => AppServes.Where(a => AppRoutes.Serves(r.Route, a)).Select(a => a.ToString()));
            var expected = routes.SelectMany(r => S3Needs[r]).Concat(SecretGrant).ToHashSet();
            // The functions that sign read the registry key's secret too (checked on its own below).
            if (Env(properties, "Registry__SigningKeySecretArn") is not null) expected.Add(KeyGrant);
            var granted = Grants(function, properties);
            Assert.True(expected.SetEquals(granted),
                $"{function}: expected [{string.Join(", ", expected.Order())}], granted [{string.Join(", ", granted.Order())}]");
        }
    }

    /// <summary>Every Allow statement of a function as "action resource" pairs; managed policies and SAM policy templates are refused (broader than needed).</summary>
    private static HashSet<string> Grants(string function, IDictionary<string, object?> properties)
    {
        var grants = new HashSet<string>();
        foreach (var policy in properties.List("Policies"))
        {
            Assert.True(policy is IDictionary<string, object?> d && d.Keys.SequenceEqual(["Statement"]),
                $"{function}: only inline statements, no managed policy or policy template: {policy}");
            foreach (var statement in policy.List("Statement"))
            {
                Assert.Equal("Allow", statement.Text("Effect"));
                Assert.False(((IDictionary<string, object?>)statement!).ContainsKey("NotAction") || ((IDictionary<string, object?>)statement!).ContainsKey("NotResource"));
                foreach (var action in statement.List("Action").Cast<string>())
                {
                    Assert.DoesNotContain("*", action, StringComparison.Ordinal);
                    foreach (var resource in statement.List("Resource"))
                        grants.Add($"{action} {CloudFormationYaml.Render(resource)}");
                }
            }
        }
        return grants;
    }

    [Fact]
    public void administration_is_a_function_of_its_own_and_the_description_counts_the_functions()
    {
        var admin = PublicRoutes.Where(r => r.Function == "AdminFunction").Select(r => r.Route.ToString()).Order(StringComparer.Ordinal);
        Assert.Equal(
            ["GET /v1/webhooks/{id}", "GET /v1/webhooks/{id}/deliveries", "POST /v1/packages/{name}/owners", "POST /v1/packages/{name}/trusted-publishers", "POST /v1/packages/{name}/{version}/yank", "POST /v1/webhooks"],
            admin);
        // Publishing keeps only publishes, uploads and the token exchange, and with them the only S3 write rights.
        Assert.Equal(["POST /v1/trusted-publishing/exchange", "POST /v1/uploads", "PUT /v1/packages/{name}/{version}"],
            PublicRoutes.Where(r => r.Function == "PublishFunction").Select(r => r.Route.ToString()).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Grants("AdminFunction", Resources["AdminFunction"].Map("Properties")), g => g.StartsWith("s3:", StringComparison.Ordinal));

        var count = Functions.Count();
        Assert.Equal(5, count);
        Assert.Contains("deployed as five\n  functions (publish, admin, download, read, projections)", Repository.Read("template.yaml").Replace("\r", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void the_registry_key_reaches_only_the_functions_that_sign_through_its_secret()
    {
        var template = Repository.Read("template.yaml");
        Assert.DoesNotContain("Registry__SigningKey:", template, StringComparison.Ordinal);
        Assert.False(Template.Map("Parameters").ContainsKey("RegistrySigningKey"), "no plaintext key parameter");
        Assert.StartsWith("^arn:aws", Template.Map("Parameters").Map("RegistrySigningKeySecretArn").Text("AllowedPattern"), StringComparison.Ordinal);
        Assert.Null(GlobalEnv("Registry__SigningKeySecretArn"));
        Assert.Equal("false", GlobalEnv("Registry__SigningKeyRequired"));

        var holders = Functions.Where(f => Env(f.Properties, "Registry__SigningKeySecretArn") is not null).Select(f => f.Function).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["ProjectionsFunction", "PublishFunction", "ReadFunction"], holders);
        foreach (var (function, properties) in Functions)
        {
            var holds = holders.Contains(function);
            Assert.Equal("${RegistrySigningKeySecretArn}", holds ? Env(properties, "Registry__SigningKeySecretArn") : "${RegistrySigningKeySecretArn}");
            Assert.Equal(holds ? "true" : null, Env(properties, "Registry__SigningKeyRequired"));
            Assert.Equal(holds, Grants(function, properties).Contains(KeyGrant));
        }
        // What signs: /.well-known (the key), the checkpoint — the read function; deliveries and checkpoints of the
        // log — the projections function (the one with the catch-up).
        foreach (var route in new[] { "GET /.well-known/marketplace", "GET /v1/log/checkpoint" })
            Assert.Equal("ReadFunction", PublicRoutes.Single(r => r.Route.ToString() == route).Function);
        Assert.Equal("ProjectionsFunction", Functions.Single(f => Env(f.Properties, "Projections__CatchUpEndpoint") == "true").Function);
        // Trusted publishing: the exchange signs publisher certificates and a certified publish checks one.
        foreach (var route in new[] { "POST /v1/trusted-publishing/exchange", "PUT /v1/packages/{name}/{version}" })
            Assert.Equal("PublishFunction", PublicRoutes.Single(r => r.Route.ToString() == route).Function);
        Assert.Equal(Marketplace.Functions.Registry.RegistryKey.SecretArnKey, "Registry__SigningKeySecretArn".Replace("__", ":", StringComparison.Ordinal));
        Assert.Equal(Marketplace.Functions.Registry.RegistryKey.RequiredKey, "Registry__SigningKeyRequired".Replace("__", ":", StringComparison.Ordinal));
    }

    [Fact]
    public void the_projections_function_runs_one_catch_up_at_a_time_on_a_schedule()
    {
        var projections = Resources["ProjectionsFunction"].Map("Properties");
        Assert.Equal("1", projections.Text("ReservedConcurrentExecutions"));
        Assert.Equal(ProjectionCatchUp.Path, Env(projections, "AWS_LWA_PASS_THROUGH_PATH"));
        Assert.Contains(new Route("POST", Env(projections, "AWS_LWA_PASS_THROUGH_PATH")!), AppServes);
        var events = projections.Map("Events");
        Assert.Equal(["Schedule"], events.Values.Select(e => e.Text("Type")));
        Assert.Equal("0", projections.Map("EventInvokeConfig").Text("MaximumRetryAttempts"));
        // The catch-up returns before Lambda stops it: its deadline is inside the function's timeout.
        var deadline = TimeSpan.Parse(Env(projections, "Projections__CatchUpDeadline")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(deadline.TotalSeconds < int.Parse(projections.Text("Timeout")!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("500-599", Env(projections, "AWS_LWA_ERROR_STATUS_CODES"));
    }

    [Fact]
    public void functions_start_without_schema_work_and_without_a_daemon()
    {
        Assert.Equal("false", GlobalEnv("Marten__ApplySchemaOnStartup"));
        Assert.Equal("Disabled", GlobalEnv("Marten__Daemon"));
        foreach (var (function, properties) in Functions)
        {
            Assert.Null(Env(properties, "Marten__Daemon"));
            Assert.Null(Env(properties, "Marten__ApplySchemaOnStartup"));
            Assert.False(properties.ContainsKey("Runtime") || properties.ContainsKey("Handler") || properties.ContainsKey("CodeUri"), $"{function} uses the one artifact of Globals");
        }
    }

    [Fact]
    public void the_database_connection_comes_from_the_secret_read_at_startup()
    {
        Assert.Equal("${DatabaseSecretArn}", GlobalEnv("Database__SecretArn"));
        Assert.Equal("Database:SecretArn", DatabaseConnection.SecretArnKey);
        Assert.DoesNotContain("ConnectionStrings__", Repository.Read("template.yaml"), StringComparison.Ordinal);
        Assert.DoesNotContain("{{resolve:", Repository.Read("template.yaml"), StringComparison.Ordinal);
        Assert.Equal("String", Template.Map("Parameters").Map("DatabaseSecretArn").Text("Type"));
    }

    [Fact]
    public void the_handler_is_the_bootstrap_executable_the_publish_build_makes()
    {
        Assert.Equal("provided.al2023", Globals.Text("Runtime"));
        Assert.Equal("bootstrap", Globals.Text("Handler"));
        var architecture = Assert.Single(Globals.List("Architectures")) as string;
        var layer = CloudFormationYaml.Render(Assert.Single(Globals.List("Layers")));
        Assert.Matches(@"^arn:aws:lambda:\$\{AWS::Region\}:753240598075:layer:LambdaAdapterLayer" + (architecture == "arm64" ? "Arm64" : "X86") + @":", layer);

        // The deploy script publishes for the template's architecture, self-contained, into the template's CodeUri.
        var deploy = Repository.Read("infra", "aws", "deploy");
        var publish = Assert.Single(deploy.Split('\n'), l => l.TrimStart().StartsWith("dotnet publish", StringComparison.Ordinal));
        Assert.Contains($"-r linux-{architecture} --self-contained", publish, StringComparison.Ordinal);
        Assert.Contains("artifacts/" + Globals.Text("CodeUri")!.Replace("artifacts/", "", StringComparison.Ordinal).TrimEnd('/'), publish, StringComparison.Ordinal);

        // That publish is ReadyToRun and copies the apphost (named after AssemblyName) to bootstrap.
        var evaluated = FunctionsProject.Evaluate(["PublishReadyToRun", "AssemblyName", "SelfContained"], $"RuntimeIdentifier=linux-{architecture}", "SelfContained=true");
        Assert.Equal("true", evaluated.GetProperty("PublishReadyToRun").GetString());
        Assert.Equal(FunctionsProject.AssemblyName, evaluated.GetProperty("AssemblyName").GetString());
        var plain = FunctionsProject.Evaluate(["PublishReadyToRun"]);
        Assert.NotEqual("true", plain.GetProperty("PublishReadyToRun").GetString());
        var target = Assert.Single(FunctionsProject.Csproj.Descendants("Target"), t => (string?)t.Attribute("Name") == "LambdaBootstrap");
        Assert.Equal("Publish", (string?)target.Attribute("AfterTargets"));
        Assert.Contains("'$(SelfContained)' == 'true'", (string?)target.Attribute("Condition"), StringComparison.Ordinal);
        var copy = Assert.Single(target.Elements("Copy"));
        Assert.Equal("$(PublishDir)$(AssemblyName)", (string?)copy.Attribute("SourceFiles"));
        Assert.Equal("$(PublishDir)" + Globals.Text("Handler"), (string?)copy.Attribute("DestinationFiles"));
    }

    [Fact]
    public void the_web_adapter_waits_for_a_route_the_app_serves_on_the_port_it_listens_on()
    {
        Assert.Contains(new Route("GET", GlobalEnv("AWS_LWA_READINESS_CHECK_PATH")!), AppServes);
        Assert.Equal($"http://127.0.0.1:{GlobalEnv("AWS_LWA_PORT")}", GlobalEnv("ASPNETCORE_URLS"));
    }

    [Fact]
    public void blobs_are_private_versioned_behind_the_cdn_and_staged_uploads_expire()
    {
        var bucket = Resources["Blobs"].Map("Properties");
        Assert.Equal("Enabled", bucket.Map("VersioningConfiguration").Text("Status"));
        var block = bucket.Map("PublicAccessBlockConfiguration");
        Assert.All(["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], k => Assert.Equal("true", block.Text(k)));
        var uploads = Assert.Single(bucket.Map("LifecycleConfiguration").List("Rules"), r => r.Text("Prefix") == "uploads/");
        Assert.Equal("1", uploads.Text("ExpirationInDays"));

        var origin = Assert.Single(Resources["Cdn"].Map("Properties").Map("DistributionConfig").List("Origins"));
        Assert.Equal("${CdnOriginAccess.Id}", CloudFormationYaml.Render(origin.Map("OriginAccessControlId")));
        var cdnRead = Assert.Single(Resources["BlobsPolicy"].Map("Properties").Map("PolicyDocument").List("Statement"), s => s.Text("Effect") == "Allow");
        Assert.Equal("${Blobs.Arn}/sha256/*", CloudFormationYaml.Render(cdnRead.Map("Resource")));

        var download = PublicRoutes.Single(r => r.Route == new Route("GET", "/v1/packages/{name}/{version}/download")).Function;
        Assert.Equal("https://${Cdn.DomainName}", Env(Resources[download].Map("Properties"), "Blobs__S3__CdnBaseUrl"));
        Assert.Equal("s3", GlobalEnv("Blobs__Store"));
        Assert.Equal("${Blobs}", GlobalEnv("Blobs__S3__Bucket"));
    }

    [Fact]
    public void outputs_and_parameters_name_the_api_the_cdn_and_typesense()
    {
        var outputs = Template.Map("Outputs");
        Assert.Contains("${Api}.execute-api", CloudFormationYaml.Render(outputs.Map("ApiUrl")["Value"]), StringComparison.Ordinal);
        Assert.Equal("https://${Cdn.DomainName}", CloudFormationYaml.Render(outputs.Map("CdnUrl")["Value"]));
        var parameters = Template.Map("Parameters");
        Assert.All(["TypesenseUrl", "TypesenseCollection", "TypesenseApiKeySecretArn"], p => Assert.True(parameters.ContainsKey(p), p));
        Assert.Equal("AWS::Serverless-2016-10-31", Template.Text("Transform"));
    }
}

public sealed class CloudFormationYamlTests
{
    [Fact]
    public void short_form_intrinsics_parse_to_their_long_forms()
    {
        var parsed = CloudFormationYaml.Parse("""
            A: !Ref Bucket
            B: !Sub "${Bucket.Arn}/sha256/*"
            C: !GetAtt Bucket.Arn
            D: !If [HasCdn, !Sub "https://${Cdn.DomainName}", !Ref AWS::NoValue]
            E: !Join ["", [a, !Ref B]]
            F: [!Select [0, !GetAZs ""], plain]
            G: {Key: "false", Other: 5}
            """);
        Assert.Equal("Bucket", parsed.Map("A")["Ref"]);
        Assert.Equal("${Bucket.Arn}/sha256/*", parsed.Map("B")["Fn::Sub"]);
        Assert.Equal(["Bucket", "Arn"], (IList<object?>)parsed.Map("C")["Fn::GetAtt"]!);
        var @if = (IList<object?>)parsed.Map("D")["Fn::If"]!;
        Assert.Equal("HasCdn", @if[0]);
        Assert.Equal("https://${Cdn.DomainName}", CloudFormationYaml.Render(@if[1]));
        Assert.Equal("${AWS::NoValue}", CloudFormationYaml.Render(@if[2]));
        Assert.Equal("${B}", CloudFormationYaml.Render(((IList<object?>)((IList<object?>)parsed.Map("E")["Fn::Join"]!)[1]!)[1]));
        var select = (IList<object?>)((IDictionary<string, object?>)parsed.List("F").First()!)["Fn::Select"]!;
        Assert.Equal("", ((IDictionary<string, object?>)select[1]!)["Fn::GetAZs"]);
        Assert.Equal("false", parsed.Map("G").Text("Key"));
        Assert.Equal("5", parsed.Map("G").Text("Other"));
    }
}
