using System.CommandLine;
using Marketplace.Client;
using Marketplace.TrustedPublishing;

namespace Marketplace.Cli.Commands;

/// <summary>
/// <c>mkt trusted add|list|remove|require</c>: the CI workflows that may publish a package with no long-lived key
/// (trusted publishing); changes are signed by an owner.
/// </summary>
internal static class TrustedCommands
{
    public static Command Create(GlobalOptions options, CliContext context)
    {
        var trusted = new Command("trusted", "Name the CI workflows that may publish a package (trusted publishing), or require them.");

        var listName = new Argument<string>("name") { Description = "Package name" };
        var list = new Command("list", "List a package's trusted publishers.") { listName };
        MktApp.Bind(list, options, context, async (run, ct) =>
        {
            using var client = run.Settings.Client();
            Print(run, await client.GetTrustedPublishersAsync(run.Value(listName)!, ct));
            return ExitCodes.Ok;
        });
        trusted.Add(list);
        trusted.Add(Change(options, context, add: true));
        trusted.Add(Change(options, context, add: false));
        trusted.Add(Require(options, context));
        return trusted;
    }

    private static Command Change(GlobalOptions options, CliContext context, bool add)
    {
        var name = new Argument<string>("name") { Description = "Package name" };
        var issuer = new Option<string>("--issuer") { Description = "github, gitlab, or an OIDC issuer URL", Required = true };
        var repository = new Option<string>("--repository") { Description = "owner/repo (GitLab: the project path)", Required = true };
        var workflow = new Option<string>("--workflow") { Description = "The workflow file name, e.g. release.yml (GitLab: the CI config path)", Required = true };
        var environment = new Option<string?>("--environment") { Description = "The deployment environment the job must run in" };
        var key = new Option<string?>("--key") { Description = "Keyring key to sign with (default: the default key)" };
        var command = new Command(add ? "add" : "remove", add ? "Name a trusted publisher." : "Remove a trusted publisher.")
        {
            name, issuer, repository, workflow, environment, key,
        };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            var publisher = new TrustedPublisher(IssuerUrl(run.Value(issuer)!), run.Value(repository)!, run.Value(workflow)!, run.Value(environment));
            var keyring = await run.Settings.KeyringAsync(ct);
            using var signer = keyring.OpenSigner(run.Value(key));
            using var client = run.Settings.Client();
            var result = add
                ? await client.AddTrustedPublisherAsync(signer, run.Value(name)!, publisher, ct)
                : await client.RemoveTrustedPublisherAsync(signer, run.Value(name)!, publisher, ct);
            if (!run.Output.Json)
                run.Output.Success($"{(add ? "added" : "removed")} trusted publisher {publisher.Repository} ({publisher.Workflow}) {(add ? "to" : "from")} {result.Name}");
            Print(run, result);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Require(GlobalOptions options, CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Package name" };
        var state = new Argument<string>("on|off") { Description = "on: only trusted publishers may publish; off: owner keys may too" };
        state.AcceptOnlyFromAmong("on", "off");
        var key = new Option<string?>("--key") { Description = "Keyring key to sign with (default: the default key)" };
        var command = new Command("require", "Require trusted publishing (refuse owner-key-signed publishes), or stop requiring it.") { name, state, key };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            var required = run.Value(state) == "on";
            var keyring = await run.Settings.KeyringAsync(ct);
            using var signer = keyring.OpenSigner(run.Value(key));
            using var client = run.Settings.Client();
            var result = await client.RequireTrustedPublishingAsync(signer, run.Value(name)!, required, ct);
            if (!run.Output.Json)
                run.Output.Success($"{result.Name}: trusted publishing {(required ? "required" : "not required")}");
            Print(run, result);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>github</c> and <c>gitlab</c> name their public issuers; anything else must be the issuer's URL.</summary>
    private static string IssuerUrl(string text) =>
        MarketplaceClient.KnownIssuers.TryGetValue(text, out var url) ? url
        : Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" ? text.TrimEnd('/')
        : throw new UsageException($"--issuer '{text}' is neither github, gitlab nor an issuer URL.");

    private static void Print(Invocation run, TrustedPublishersInfo result)
    {
        if (run.Output.Json)
        {
            run.Output.WriteJson(result);
            return;
        }
        if (result.RequireTrustedPublishing)
            run.Output.Note($"{result.Name} accepts only trusted publishers' publishes.");
        var table = Output.Table("issuer", "repository", "workflow", "environment");
        foreach (var p in result.TrustedPublishers) Output.Row(table, p.Issuer, p.Repository, p.Workflow, p.Environment ?? "");
        run.Output.Write(table);
    }
}
