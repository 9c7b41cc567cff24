using System.Text.Json;
using Marketplace.Cli;

namespace Marketplace.Client.Tests.Support;

public sealed record CliResult(int ExitCode, string Out, string Error)
{
    public JsonElement Json => JsonDocument.Parse(Out).RootElement.Clone();
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
}

/// <summary>
/// Runs <c>mkt</c> in-process through the same entry as the executable, with its own home (keyring, state), working
/// folder and streams, so tests run in parallel without touching the machine's ~/.config.
/// </summary>
public sealed class CliRunner : IDisposable
{
    public CliRunner(Uri registry, string? home = null)
    {
        Registry = registry;
        Home = home ?? Directory.CreateTempSubdirectory("mkt-home-").FullName;
        WorkingDirectory = _root = Directory.CreateTempSubdirectory("mkt-work-").FullName;
        _ownsHome = home is null;
    }

    private readonly string _root;
    private readonly bool _ownsHome;

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        if (_ownsHome) Directory.Delete(Home, recursive: true);
    }

    public Uri Registry { get; }
    public string Home { get; }
    public string WorkingDirectory { get; set; }
    public Dictionary<string, string?> Variables { get; } = new(StringComparer.Ordinal);

    public async Task<CliResult> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var variables = new Dictionary<string, string?>(Variables, StringComparer.Ordinal)
        {
            ["MKT_REGISTRY"] = Registry.ToString(),
            ["MKT_HOME"] = Home,
        };
        var context = new CliContext
        {
            Out = output,
            Error = error,
            Variables = variables,
            WorkingDirectory = WorkingDirectory,
        };
        var code = await MktApp.RunAsync(args, context);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Runs and expects <paramref name="exitCode"/>, showing both streams when it differs.</summary>
    public async Task<CliResult> ExpectAsync(int exitCode, params string[] args)
    {
        var result = await RunAsync(args);
        Assert.True(result.ExitCode == exitCode, $"mkt {string.Join(' ', args)}: expected exit {exitCode}\n{result}");
        return result;
    }

    public Task<CliResult> OkAsync(params string[] args) => ExpectAsync(ExitCodes.Ok, args);

    public string Path(params string[] parts) => System.IO.Path.Combine([WorkingDirectory, .. parts]);
}
