using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Marketplace.Packages;
using Marketplace.Signing;
using Npgsql;

namespace Marketplace.ColdStart;

internal sealed class RunFailedException(string message) : Exception(message);

/// <summary>A startup milestone the app logged: ms since its process started, JIT work and assemblies by then.</summary>
internal sealed record Milestone(string Name, double AtMs, long JitMethods, double JitMs, int Assemblies);

internal sealed record RunResult(
    Variant Variant, int Run, double DbApplyMs, double ReadyMs, double PublishMs, double PublishLatencyMs,
    double DownloadMs, double DownloadLatencyMs, IReadOnlyList<Milestone> Milestones);

internal static partial class Runner
{
    private const string Database = "marketplace_bench";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static string Connection(string database) =>
        $"Host=127.0.0.1;Port=5432;Database={database};Username=marketplace;Password=marketplace;SSL Mode=Disable";

    public static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) return dir.FullName;
        throw new RunFailedException("Run it inside the repository (Serverless.sln not found).");
    }

    public static async Task EnsureServicesAsync(ColdStartOptions options, CancellationToken ct)
    {
        try
        {
            await using var connection = new NpgsqlConnection(Connection("postgres"));
            await connection.OpenAsync(ct);
            await using var exists = new NpgsqlCommand($"select 1 from pg_database where datname = '{Database}'", connection);
            if (await exists.ExecuteScalarAsync(ct) is null)
            {
                await using var create = new NpgsqlCommand($"create database {Database}", connection);
                await create.ExecuteNonQueryAsync(ct);
            }
        }
        catch (NpgsqlException e)
        {
            throw new RunFailedException($"PostgreSQL is not reachable ({e.Message}); start it: bash -c 'source infra/lib.sh; ensure_postgres'");
        }
        if (options.Blobs == "s3")
        {
            using var http = new HttpClient();
            try
            {
                await http.GetAsync(new Uri(options.S3Url), ct);
            }
            catch (HttpRequestException e)
            {
                throw new RunFailedException($"s3rver is not reachable at {options.S3Url} ({e.Message}); start it: bash -c 'source infra/lib.sh; ensure_s3rver', or pass --blobs file");
            }
        }
    }

    public static async Task<RunResult> RunOnceAsync(ColdStartOptions options, Build build, int run, CancellationToken ct)
    {
        var schema = $"cold_{build.Variant.Name}_{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}_{run}";
        var blobRoot = Path.Combine(Path.GetTempPath(), "mkt-cold-blobs-" + Guid.NewGuid().ToString("n")[..8]);
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Marketplace"] = Connection(Database),
            ["Marten__Schema"] = schema,
            ["Marten__Daemon"] = "Disabled",
            ["Marten__ApplySchemaOnStartup"] = "false",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{options.Port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            // Outside Development the app refuses to start without the registry key.
            ["Registry__SigningKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
        };
        if (options.Blobs == "s3")
        {
            environment["Blobs__Store"] = "s3";
            environment["Blobs__S3__Bucket"] = "marketplace";
            environment["Blobs__S3__ServiceUrl"] = options.S3Url;
            environment["Blobs__S3__AccessKey"] = "S3RVER";
            environment["Blobs__S3__SecretKey"] = "S3RVER";
        }
        else
        {
            environment["Blobs__Store"] = "file";
            environment["Blobs__File__Root"] = blobRoot;
        }

        try
        {
            // The deploy step, with the artifact's own command.
            var (command, prefix) = build.Command;
            var apply = Stopwatch.StartNew();
            var (applyExit, applyOutput) = await RunToEndAsync(command, [.. prefix, "db-apply"], build.Directory, environment, ct);
            if (applyExit != 0) throw new RunFailedException($"db-apply failed ({applyExit}):\n{applyOutput}");
            var dbApplyMs = apply.Elapsed.TotalMilliseconds;

            var lines = new ConcurrentQueue<string>();
            var psi = new ProcessStartInfo(command) { WorkingDirectory = build.Directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in prefix) psi.ArgumentList.Add(a);
            foreach (var (k, v) in environment) psi.Environment[k] = v;

            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(1) })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{options.Port}"),
            };
            using var signer = StatementSigner.Generate();
            var request = PublishRequest(signer, out var name);

            var clock = Stopwatch.StartNew();
            using var process = Process.Start(psi) ?? throw new RunFailedException($"{command} did not start");
            process.OutputDataReceived += (_, e) => { if (e.Data is { } l) lines.Enqueue(l); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is { } l) lines.Enqueue(l); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                var readyMs = await WaitReadyAsync(http, process, clock, ct);

                var before = clock.Elapsed.TotalMilliseconds;
                using (var published = await http.SendAsync(request, ct))
                {
                    if (published.StatusCode != HttpStatusCode.Created)
                        throw new RunFailedException($"publish answered {(int)published.StatusCode}: {await published.Content.ReadAsStringAsync(ct)}");
                }
                var publishMs = clock.Elapsed.TotalMilliseconds;

                using (var download = await http.GetAsync(new Uri($"/v1/packages/{name}/1.0.0/download", UriKind.Relative), ct))
                {
                    if (download.StatusCode != HttpStatusCode.Found)
                        throw new RunFailedException($"download answered {(int)download.StatusCode}: {await download.Content.ReadAsStringAsync(ct)}");
                }
                var downloadMs = clock.Elapsed.TotalMilliseconds;
                // The last milestone is logged just after its answer is sent.
                await Task.Delay(200, ct);
                return new RunResult(build.Variant, run, dbApplyMs, readyMs, publishMs, publishMs - before, downloadMs, downloadMs - publishMs, Milestones(lines));
            }
            catch (RunFailedException e)
            {
                throw new RunFailedException(e.Message + "\nlast output:\n" + string.Join('\n', lines.TakeLast(30)));
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
        finally
        {
            if (!options.Keep)
            {
                await using var connection = new NpgsqlConnection(Connection(Database));
                await connection.OpenAsync(CancellationToken.None);
                await using var drop = new NpgsqlCommand($"drop schema if exists {schema} cascade", connection);
                await drop.ExecuteNonQueryAsync(CancellationToken.None);
                if (Directory.Exists(blobRoot)) Directory.Delete(blobRoot, recursive: true);
            }
        }
    }

    private static async Task<double> WaitReadyAsync(HttpClient http, Process process, Stopwatch clock, CancellationToken ct)
    {
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited) throw new RunFailedException($"the service exited with code {process.ExitCode} before it was ready");
            try
            {
                using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), ct);
                if (ready.StatusCode == HttpStatusCode.OK) return clock.Elapsed.TotalMilliseconds;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(5, ct);
        }
        throw new RunFailedException("GET /health/ready did not answer 200 within 60 s");
    }

    private static HttpRequestMessage PublishRequest(StatementSigner signer, out string name)
    {
        name = "cold-" + Guid.NewGuid().ToString("n")[..10];
        var blob = RandomNumberGenerator.GetBytes(10 * 1024);
        var statement = new PublishStatement(name, "1.0.0", Convert.ToHexStringLower(SHA256.HashData(blob)), blob.Length,
            new PackageManifest(Description: "A cold-start probe.", Authors: ["Marketplace cold start"], License: "MIT"), DateTimeOffset.UtcNow);
        var body = JsonSerializer.SerializeToUtf8Bytes(new { envelope = signer.Sign(PayloadTypes.Publish, statement), publicKey = signer.Owner.PublicKey, blob = Convert.ToBase64String(blob) }, Json);
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(HttpMethod.Put, new Uri($"/v1/packages/{name}/1.0.0", UriKind.Relative)) { Content = content };
    }

    private static List<Milestone> Milestones(IEnumerable<string> lines) =>
        lines.Select(l => MilestoneLine().Match(l)).Where(m => m.Success).Select(m => new Milestone(
            m.Groups["name"].Value,
            double.Parse(m.Groups["at"].Value, CultureInfo.InvariantCulture),
            long.Parse(m.Groups["jit"].Value, CultureInfo.InvariantCulture),
            double.Parse(m.Groups["jitms"].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups["asm"].Value, CultureInfo.InvariantCulture))).ToList();

    [GeneratedRegex(@"Startup milestone (?<name>.+?) at (?<at>[\d.]+) ms: (?<jit>\d+) methods JIT-compiled in (?<jitms>[\d.]+) ms, (?<asm>\d+) assemblies loaded")]
    private static partial Regex MilestoneLine();

    public static async Task<(int Exit, string Output)> RunToEndAsync(string file, string[] args, string workingDirectory, IReadOnlyDictionary<string, string>? environment, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var process = Process.Start(psi) ?? throw new RunFailedException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await stdout + await stderr);
    }
}
