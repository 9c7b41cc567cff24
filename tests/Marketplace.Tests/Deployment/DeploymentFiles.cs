using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Xml.Linq;
using Marketplace.Functions.Serverless;
using Marketplace.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Marketplace.Tests.Deployment;

/// <summary>The repository's files around the deployment, found from the test's output folder.</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static string Read(params string[] parts) => File.ReadAllText(Path(parts));

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Serverless.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Serverless.sln is not above " + AppContext.BaseDirectory);
    }
}

/// <summary>An HTTP route as API Gateway names it: <c>GET /v1/packages/{name}</c>.</summary>
public sealed record Route(string Method, string Path)
{
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>What the app serves, read from a real host's endpoint data source.</summary>
public static class AppRoutes
{
    public static IReadOnlyList<Route> Of(Alba.IAlbaHost host)
    {
        var routes = new List<Route>();
        foreach (var endpoint in host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var path = ApiGatewayPath(endpoint.RoutePattern);
            // An endpoint mapped for any method (app.Map) is published for GET, the only method a client needs there.
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            routes.AddRange(methods.Select(m => new Route(m.ToUpperInvariant(), path)));
        }
        return routes.Distinct().OrderBy(r => r.Path, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal).ToList();
    }

    /// <summary><c>{name:constraint}</c> → <c>{name}</c>, <c>{*rest}</c> → <c>{rest+}</c>.</summary>
    public static string ApiGatewayPath(RoutePattern pattern) =>
        "/" + string.Join('/', pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart { IsCatchAll: true } p => "{" + p.Name + "+}",
            RoutePatternParameterPart p => "{" + p.Name + "}",
            RoutePatternSeparatorPart s => s.Content,
            _ => throw new InvalidOperationException("Unknown route part " + part),
        }))));

    /// <summary>
    /// Whether a route of the template serves an app route: the same path, or (API Gateway has no parameters inside a
    /// segment, such as <c>/openapi/{documentName}.json</c>) a literal path the app's pattern matches.
    /// </summary>
    public static bool Serves(Route template, Route app) =>
        template.Method == app.Method && (template.Path == app.Path ||
            (!template.Path.Contains('{', StringComparison.Ordinal) &&
             System.Text.RegularExpressions.Regex.IsMatch(template.Path, "^" + System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Escape(app.Path), @"\\\{[^/]+?\}", "[^/]+") + "$")));

    public static bool IsCatchUp(Route route) => route.Path is ProjectionCatchUp.Path;
}

/// <summary>A run of an external program with its output.</summary>
public static class Run
{
    public static (int Exit, string Stdout, string Stderr) Program(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Repository.Root };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 120 s.");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The Bicep CLI from the Azure.Bicep.CommandLine package (path baked in at build time).</summary>
    public static string Bicep()
    {
        var path = typeof(Run).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepPath").Value!.Replace('\\', '/');
        Assert.True(File.Exists(path), $"The Bicep CLI is not at {path}; restore Marketplace.Tests.");
        // NuGet does not keep the executable bit of files it extracts.
        if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute))
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return path;
    }
}

public static class FunctionsProject
{
    public static string CsprojPath => Repository.Path("functions", "Marketplace.Functions", "Marketplace.Functions.csproj");

    public static XDocument Csproj => XDocument.Load(CsprojPath);

    public static string AssemblyName => Csproj.Descendants("AssemblyName").Single().Value;

    /// <summary>MSBuild's own evaluation of the project, with the given global properties.</summary>
    public static JsonElement Evaluate(string[] properties, params string[] globals)
    {
        var args = new List<string> { "msbuild", CsprojPath, "-nologo" };
        args.AddRange(properties.Select(p => "-getProperty:" + p));
        args.AddRange(globals.Select(g => "-p:" + g));
        var (exit, stdout, stderr) = Run.Program("dotnet", [.. args]);
        Assert.True(exit == 0, $"dotnet msbuild failed ({exit}): {stdout}{stderr}");
        // One property prints as its bare value, several as JSON.
        return properties.Length == 1
            ? JsonSerializer.SerializeToElement(new Dictionary<string, string> { [properties[0]] = stdout.Trim() })
            : JsonDocument.Parse(stdout).RootElement.GetProperty("Properties").Clone();
    }
}
