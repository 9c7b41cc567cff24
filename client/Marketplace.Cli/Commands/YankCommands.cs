using System.CommandLine;

namespace Marketplace.Cli.Commands;

/// <summary><c>mkt yank name@version [--reason]</c> and <c>mkt unyank name@version</c>, signed by an owner key.</summary>
internal static class YankCommands
{
    public static IEnumerable<Command> Create(GlobalOptions options, CliContext context)
    {
        yield return Make(options, context, yank: true);
        yield return Make(options, context, yank: false);
    }

    private static Command Make(GlobalOptions options, CliContext context, bool yank)
    {
        var spec = new Argument<string>("package") { Description = "name@version" };
        var key = new Option<string?>("--key") { Description = "Keyring key to sign with (default: the default key)" };
        var reason = new Option<string?>("--reason") { Description = "Why (shown to users)" };
        var command = yank
            ? new Command("yank", "Yank a version: installs skip it unless a lockfile has it; it still downloads by exact version.") { spec, key, reason }
            : new Command("unyank", "Undo a yank.") { spec, key };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            var (name, version) = Specs.NameAndVersion(run.Value(spec)!, versionRequired: true);
            using var signer = (await run.Settings.KeyringAsync(ct)).OpenSigner(run.Value(key));
            using var client = run.Settings.Client();
            var result = yank
                ? await client.YankAsync(signer, name, version!, run.Value(reason), ct)
                : await client.UnyankAsync(signer, name, version!, ct);
            if (run.Output.Json)
                run.Output.WriteJson(result);
            else
                run.Output.Success($"{result.Name}@{result.Version} is {(result.Yanked ? "yanked" : "not yanked")}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
