namespace Marketplace.Cli;

/// <summary>
/// Everything the CLI takes from its process, so that tests can run it in-process, in parallel, each with its own
/// streams, variables and folder: output and error writers, whether each is a terminal (colours and progress bars only
/// then), environment variables and the working directory.
/// </summary>
public sealed class CliContext
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    public bool OutIsTerminal { get; init; }
    public bool ErrorIsTerminal { get; init; }
    public required IReadOnlyDictionary<string, string?> Variables { get; init; }
    public required string WorkingDirectory { get; init; }
    /// <summary>Ctrl-C cancels the running command (only for a real process).</summary>
    public bool HandleSignals { get; init; }

    public string? Variable(string name) => Variables.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;

    /// <summary>NO_COLOR (no-color.org) turns colours off even on a terminal.</summary>
    public bool Colors => Variable("NO_COLOR") is null;

    public string Resolve(string path) => Path.GetFullPath(Path.Combine(WorkingDirectory, path));

    public static CliContext FromProcess() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        OutIsTerminal = !Console.IsOutputRedirected,
        ErrorIsTerminal = !Console.IsErrorRedirected,
        Variables = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal),
        WorkingDirectory = Environment.CurrentDirectory,
        HandleSignals = true,
    };
}
