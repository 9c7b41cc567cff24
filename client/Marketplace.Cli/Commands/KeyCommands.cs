using System.CommandLine;

namespace Marketplace.Cli.Commands;

/// <summary><c>mkt key new|list|export</c>: Ed25519 signing keys in the keyring file.</summary>
internal static class KeyCommands
{
    public static Command Create(GlobalOptions options, CliContext context)
    {
        var key = new Command("key", "Manage Ed25519 signing keys (the keyring file is owner-only).");

        var newName = new Argument<string?>("name") { Description = "Name of the key (default: 'default' for the first key)", Arity = ArgumentArity.ZeroOrOne };
        var makeDefault = new Option<bool>("--default") { Description = "Make it the key used when --key is not given" };
        var create = new Command("new", "Create a key.") { newName, makeDefault };
        MktApp.Bind(create, options, context, async (run, ct) =>
        {
            var keyring = await run.Settings.KeyringAsync(ct);
            var name = run.Value(newName) ?? (keyring.Keys.Count == 0
                ? "default"
                : throw new UsageException("The keyring has keys already: name the new one (mkt key new <name>)."));
            var entry = keyring.Create(name, DateTimeOffset.UtcNow);
            if (run.Value(makeDefault)) keyring.SetDefault(name);
            await keyring.SaveAsync(ct);
            if (run.Output.Json)
                run.Output.WriteJson(new { entry.Name, entry.KeyId, entry.PublicKey, isDefault = keyring.Default == entry.Name, keyring = keyring.Path });
            else
            {
                run.Output.Success($"created key '{entry.Name}' {entry.KeyId} in {keyring.Path}");
                run.Output.Line($"public key: {entry.PublicKey}");
            }
            return ExitCodes.Ok;
        });

        var list = new Command("list", "List the keys.");
        MktApp.Bind(list, options, context, async (run, ct) =>
        {
            var keyring = await run.Settings.KeyringAsync(ct);
            if (run.Output.Json)
            {
                run.Output.WriteJson(new
                {
                    keyring = keyring.Path,
                    keys = keyring.Keys.Select(k => new { k.Name, k.KeyId, k.PublicKey, k.CreatedAt, isDefault = keyring.Default == k.Name }),
                });
                return ExitCodes.Ok;
            }
            if (keyring.Keys.Count == 0)
            {
                run.Output.Line($"No keys in {keyring.Path}; create one with: mkt key new");
                return ExitCodes.Ok;
            }
            var table = Output.Table("name", "key id", "public key", "created", "default");
            foreach (var k in keyring.Keys)
                Output.Row(table, k.Name, k.KeyId, k.PublicKey, k.CreatedAt.ToString("yyyy-MM-dd"), keyring.Default == k.Name ? "*" : "");
            run.Output.Write(table);
            return ExitCodes.Ok;
        });

        var exportName = new Argument<string?>("name") { Description = "Key name or key id (default: the default key)", Arity = ArgumentArity.ZeroOrOne };
        var withPrivate = new Option<bool>("--private") { Description = "Include the private key (a backup; keep it secret)" };
        var export = new Command("export", "Print a key's id and public key (what 'mkt owners add' takes).") { exportName, withPrivate };
        MktApp.Bind(export, options, context, async (run, ct) =>
        {
            var entry = (await run.Settings.KeyringAsync(ct)).Get(run.Value(exportName));
            var secret = run.Value(withPrivate) ? entry.PrivateKey : null;
            if (run.Output.Json)
                run.Output.WriteJson(new { entry.Name, entry.KeyId, entry.PublicKey, privateKey = secret });
            else
            {
                run.Output.Line($"name:       {entry.Name}");
                run.Output.Line($"key id:     {entry.KeyId}");
                run.Output.Line($"public key: {entry.PublicKey}");
                if (secret is not null) run.Output.Line($"private key: {secret}");
            }
            return ExitCodes.Ok;
        });

        key.Add(create);
        key.Add(list);
        key.Add(export);
        return key;
    }
}
