using System.CommandLine;
using Marketplace.Client.Keys;
using Marketplace.Signing;

namespace Marketplace.Cli.Commands;

/// <summary><c>mkt owners list|add|remove</c>: a package's owner keys; changes are signed by an owner.</summary>
internal static class OwnersCommands
{
    public static Command Create(GlobalOptions options, CliContext context)
    {
        var owners = new Command("owners", "List or change the keys that own a package.");

        var listName = new Argument<string>("name") { Description = "Package name" };
        var list = new Command("list", "List a package's owner keys.") { listName };
        MktApp.Bind(list, options, context, async (run, ct) =>
        {
            using var client = run.Settings.Client();
            var result = await client.GetOwnersAsync(run.Value(listName)!, ct);
            Print(run, result);
            return ExitCodes.Ok;
        });

        owners.Add(list);
        owners.Add(Change(options, context, add: true));
        owners.Add(Change(options, context, add: false));
        return owners;
    }

    private static Command Change(GlobalOptions options, CliContext context, bool add)
    {
        var name = new Argument<string>("name") { Description = "Package name" };
        var owner = new Argument<string>("key")
        {
            Description = add
                ? "The new owner: a keyring key name, or a raw Ed25519 public key in base64 (from 'mkt key export')"
                : "The owner to remove: a keyring key name, a key id (ed25519:…) or a public key",
        };
        var key = new Option<string?>("--key") { Description = "Keyring key to sign with (default: the default key)" };
        var command = new Command(add ? "add" : "remove", add ? "Add an owner key." : "Remove an owner key (a package keeps one).") { name, owner, key };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            var keyring = await run.Settings.KeyringAsync(ct);
            var target = Identify(run.Value(owner)!, keyring, requirePublicKey: add);
            using var signer = keyring.OpenSigner(run.Value(key));
            using var client = run.Settings.Client();
            var result = add
                ? await client.AddOwnerAsync(signer, run.Value(name)!, target, ct)
                : await client.RemoveOwnerAsync(signer, run.Value(name)!, target.KeyId, ct);
            if (!run.Output.Json)
                run.Output.Success($"{(add ? "added" : "removed")} owner {target.KeyId} {(add ? "to" : "from")} {result.Name}");
            Print(run, result);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>A keyring name, a key id or a base64 public key, as the owner key it names.</summary>
    private static OwnerKey Identify(string text, Keyring keyring, bool requirePublicKey)
    {
        if (keyring.Keys.FirstOrDefault(k => k.Name == text || k.KeyId == text) is { } entry)
            return entry.Owner;
        if (text.StartsWith("ed25519:", StringComparison.Ordinal))
            return requirePublicKey
                ? throw new UsageException($"Adding an owner needs its public key, not only its id {text} (see 'mkt key export').")
                : new OwnerKey(text, "");
        var parsed = OwnerKey.Parse(text);
        return parsed.Value ?? throw new UsageException($"'{text}' is not a keyring key, a key id or a public key: {parsed.Error!.Detail}");
    }

    private static void Print(Invocation run, Marketplace.Client.OwnersInfo result)
    {
        if (run.Output.Json)
        {
            run.Output.WriteJson(result);
            return;
        }
        var table = Output.Table("key id", "public key");
        foreach (var o in result.Owners) Output.Row(table, o.KeyId, o.PublicKey);
        run.Output.Write(table);
    }
}
