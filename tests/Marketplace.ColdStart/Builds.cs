using System.Diagnostics;
using System.Reflection.PortableExecutable;

namespace Marketplace.ColdStart;

/// <summary>A published variant: where it is and how to start it.</summary>
internal sealed record Build(Variant Variant, string Directory, double PublishSeconds, string ReadyToRunNote)
{
    public const string Assembly = "Marketplace.Functions";

    /// <summary>The executable and its first arguments: dotnet and the dll, or the self-contained bootstrap as Lambda runs it.</summary>
    public (string File, string[] Arguments) Command => Variant.SelfContained
        ? (Path.Combine(Directory, "bootstrap"), [])
        : ("dotnet", [Path.Combine(Directory, Assembly + ".dll")]);
}

internal static class Builds
{
    private const string Project = "functions/Marketplace.Functions";

    /// <summary><c>dotnet publish -c Release</c> with the variant's arguments, retried on the file locks of concurrent builds.</summary>
    public static async Task<Build> PublishAsync(string repo, Variant variant, string output, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            var (exit, text) = await Runner.RunToEndAsync("dotnet", ["publish", Project, "-c", "Release", "-o", output, "-nologo", "-v", "q", .. variant.PublishArguments], repo, null, ct);
            if (exit == 0) break;
            if (attempt == 4) throw new RunFailedException($"dotnet publish ({variant.Name}) failed:\n{text}");
            Console.WriteLine($"  publish attempt {attempt} failed; retrying in {attempt * 5} s");
            await Task.Delay(TimeSpan.FromSeconds(attempt * 5), ct);
        }
        if (variant.SelfContained && !File.Exists(Path.Combine(output, "bootstrap")))
            throw new RunFailedException($"{variant.Name}: the self-contained publish has no bootstrap executable (LambdaBootstrap target).");
        return new Build(variant, output, clock.Elapsed.TotalSeconds, ReadyToRun(Path.Combine(output, Build.Assembly + ".dll")));
    }

    /// <summary>Whether the app's own assembly carries precompiled code (a ReadyToRun header), read from its PE headers.</summary>
    private static string ReadyToRun(string dll)
    {
        using var pe = new PEReader(File.OpenRead(dll));
        var native = pe.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size ?? 0;
        return native > 0 ? $"{Build.Assembly}.dll is ReadyToRun, {new FileInfo(dll).Length / 1024} KB" : $"{Build.Assembly}.dll is IL only, {new FileInfo(dll).Length / 1024} KB";
    }
}
