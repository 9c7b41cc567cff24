using System.CommandLine;
using System.Text.Json;
using Marketplace.Cli.Commands;
using Marketplace.Client;

namespace Marketplace.Cli;

/// <summary>The options every command has.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Registry { get; } = new("--registry") { Description = "Registry URL (default: $MKT_REGISTRY, else http://127.0.0.1:5080)", Recursive = true };
    public Option<string?> Keyring { get; } = new("--keyring") { Description = "Keyring file (default: $MKT_KEYRING, else ~/.config/mkt/keys.json)", Recursive = true };
    public Option<string?> State { get; } = new("--state") { Description = "Client state: pinned registry keys, kept checkpoints (default: $MKT_STATE, else ~/.config/mkt/state.json)", Recursive = true };
    public Option<bool> Json { get; } = new("--json") { Description = "Print one JSON document on stdout (for scripts)", Recursive = true };
}

/// <summary>What a command's handler gets: its parse result, where things are, and where to print.</summary>
internal sealed record Invocation(ParseResult Parse, Settings Settings, Output Output)
{
    public CliContext Context => Settings.Context;
    public T? Value<T>(Option<T> option) => Parse.GetValue(option);
    public T? Value<T>(Argument<T> argument) => Parse.GetValue(argument);
}

/// <summary>
/// <c>mkt</c>: builds the command tree, parses, runs the command and maps every expected failure to a message on
/// stderr and a documented exit code (<see cref="ExitCodes"/>); a parse error is a usage error (2).
/// </summary>
public static class MktApp
{
    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = new GlobalOptions();
        var root = new RootCommand("mkt: publish, find, install and verify signed packages of a Marketplace registry.")
        {
            options.Registry, options.Keyring, options.State, options.Json,
        };
        root.Add(KeyCommands.Create(options, context));
        root.Add(PublishCommands.Publish(options, context));
        root.Add(PublishCommands.Pack(options, context));
        foreach (var command in ReadCommands.Create(options, context)) root.Add(command);
        root.Add(InstallCommand.Create(options, context));
        foreach (var command in YankCommands.Create(options, context)) root.Add(command);
        root.Add(OwnersCommands.Create(options, context));
        root.Add(TrustedCommands.Create(options, context));
        root.Add(LogCommands.Create(options, context));
        root.Add(EventsCommands.Create(options, context));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
                await context.Error.WriteLineAsync($"mkt: {error.Message}");
            await context.Error.WriteLineAsync("Run 'mkt --help' (or 'mkt <command> --help') for usage.");
            return ExitCodes.Usage;
        }
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = context.HandleSignals ? TimeSpan.FromSeconds(2) : null,
        }, cancellationToken);
    }

    /// <summary>Runs a handler with the failures every command shares turned into a message and an exit code.</summary>
    internal static void Bind(Command command, GlobalOptions options, CliContext context, Func<Invocation, CancellationToken, Task<int>> handler) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = new Output(context, parse.GetValue(options.Json));
            try
            {
                var settings = new Settings(context, parse.GetValue(options.Registry), parse.GetValue(options.Keyring), parse.GetValue(options.State));
                return await handler(new Invocation(parse, settings, output), cancellationToken);
            }
            catch (Exception e) when (e is MarketplaceException or UsageException or IOException or HttpRequestException or TimeoutException
                                          or UnauthorizedAccessException or OperationCanceledException or InvalidDataException or JsonException or FormatException)
            {
                var code = ExitCodes.Of(e);
                var message = Describe(e);
                if (output.Json)
                    output.WriteJson(new { error = new { code = (e as MarketplaceException)?.Code ?? ErrorCode(code), message, exitCode = code } });
                output.Error(message);
                return code;
            }
        });

    private static string Describe(Exception e) => e switch
    {
        VerificationException v => $"verification failed ({v.Code}): {v.Message} Nothing was installed or changed.",
        MarketplaceApiException a => $"the registry refused: {a.Message}" + (a.CorrelationId is { } id ? $" [correlation id {id}]" : ""),
        HttpRequestException h => $"cannot reach the registry: {h.Message}",
        OperationCanceledException => "cancelled.",
        _ => e.Message,
    };

    private static string ErrorCode(int exitCode) => exitCode switch
    {
        ExitCodes.Usage => "usage",
        ExitCodes.Cancelled => "cancelled",
        _ => "failure",
    };
}
