using System.Globalization;

namespace Marketplace.ColdStart;

/// <summary>A way of publishing the functions artifact and of starting what it produces.</summary>
internal sealed record Variant(string Name, string Description, string[] PublishArguments, bool SelfContained);

internal sealed class ColdStartOptions
{
    public const string Usage = """
        Marketplace cold-start benchmark: publishes Marketplace.Functions per variant into a temporary folder, then
        N times starts it against a fresh schema (applied first by the artifact's db-apply) and times process start →
        GET /health/ready 200 → first publish (201) → first download redirect (302), with the app's startup milestones.

          dotnet run -c Release --project tests/Marketplace.ColdStart -- [options]

          --runs N              starts per variant (default 5)
          --variants a,b        plain, r2r, lambda (default plain,r2r,lambda)
          --blobs s3|file       blob store (default s3: s3rver on 127.0.0.1:4569, bucket marketplace; file: a temp folder)
          --port P              port on 127.0.0.1 (default 5095)
          --keep                keep the published folders and the schemas
          --help                this text

        Variants: plain = dotnet publish -c Release (JIT only), started with dotnet;
                  r2r = dotnet publish -c Release -r linux-x64 --self-contained false (ReadyToRun), started with dotnet;
                  lambda = dotnet publish -c Release -r linux-x64 --self-contained (ReadyToRun), started as ./bootstrap.
        Needs PostgreSQL (bash -c 'source infra/lib.sh; ensure_postgres') and, for --blobs s3, s3rver (ensure_s3rver).
        """;

    public static readonly Variant[] All =
    [
        new("plain", "framework-dependent, JIT only", [], SelfContained: false),
        new("r2r", "framework-dependent, ReadyToRun", ["-r", "linux-x64", "--self-contained", "false"], SelfContained: false),
        new("lambda", "self-contained, ReadyToRun, bootstrap", ["-r", "linux-x64", "--self-contained"], SelfContained: true),
    ];

    public int Runs { get; private set; } = 5;
    public IReadOnlyList<Variant> Variants { get; private set; } = All;
    public string Blobs { get; private set; } = "s3";
    public int Port { get; private set; } = 5095;
    public bool Keep { get; private set; }
    public string S3Url { get; } = Environment.GetEnvironmentVariable("MARKETPLACE_TEST_S3") ?? "http://127.0.0.1:4569";
    public string CommandLine { get; private set; } = "";

    public static ColdStartOptions? Parse(string[] args)
    {
        var o = new ColdStartOptions { CommandLine = string.Join(' ', args) };
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--runs": o.Runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--variants":
                    var names = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    o.Variants = names.Select(n => All.FirstOrDefault(v => v.Name == n) ?? throw new ArgumentException($"unknown variant {n}")).ToList();
                    break;
                case "--blobs": o.Blobs = Next() is "s3" or "file" ? args[i] : throw new ArgumentException("--blobs is s3 or file"); break;
                case "--port": o.Port = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--keep": o.Keep = true; break;
                default: return null;
            }
        }
        return o.Runs >= 1 ? o : null;
    }
}
