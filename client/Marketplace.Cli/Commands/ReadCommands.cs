using System.CommandLine;
using System.Globalization;
using Marketplace.Client;

namespace Marketplace.Cli.Commands;

/// <summary><c>mkt search</c>, <c>mkt info</c>, <c>mkt versions</c>: the registry's read side as tables, or JSON.</summary>
internal static class ReadCommands
{
    public static IEnumerable<Command> Create(GlobalOptions options, CliContext context)
    {
        yield return Search(options, context);
        yield return Info(options, context);
        yield return Versions(options, context);
    }

    private static Command Search(GlobalOptions options, CliContext context)
    {
        var query = new Argument<string?>("query") { Description = "Words to search for", Arity = ArgumentArity.ZeroOrOne };
        var category = new Option<string?>("--category") { Description = "Only packages in this category" };
        var keyword = new Option<string?>("--keyword") { Description = "Only packages with this keyword" };
        var author = new Option<string?>("--author") { Description = "Only packages by this author" };
        var license = new Option<string?>("--license") { Description = "Only packages under this license expression" };
        var minDownloads = new Option<long?>("--min-downloads") { Description = "Only packages downloaded at least this often" };
        var sort = new Option<string?>("--sort") { Description = "relevance (default), downloads or recent" };
        sort.AcceptOnlyFromAmong("relevance", "downloads", "recent");
        var limit = new Option<int?>("--limit") { Description = "Hits per page (1–100, default 20)" };
        var offset = new Option<int?>("--offset") { Description = "Hits to skip" };
        var command = new Command("search", "Search packages.") { query, category, keyword, author, license, minDownloads, sort, limit, offset };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            using var client = run.Settings.Client();
            var result = await client.SearchAsync(new SearchRequest(run.Value(query), run.Value(category), run.Value(keyword), run.Value(author),
                run.Value(license), run.Value(minDownloads), run.Value(sort), run.Value(limit), run.Value(offset)), ct);
            if (run.Output.Json)
            {
                run.Output.WriteJson(result);
                return ExitCodes.Ok;
            }
            if (result.Hits.Count == 0)
            {
                run.Output.Line("No packages found.");
                return ExitCodes.Ok;
            }
            var table = Output.Table("name", "version", "downloads", "description");
            foreach (var hit in result.Hits)
                Output.Row(table, hit.Name, hit.Version, hit.Downloads.ToString(CultureInfo.InvariantCulture), hit.Description);
            run.Output.Write(table);
            run.Output.Line($"{result.Hits.Count} of {result.Total} package(s)");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Info(GlobalOptions options, CliContext context)
    {
        var spec = new Argument<string>("package") { Description = "name, or name@version for one version" };
        var command = new Command("info", "Show a package, or one version of it.") { spec };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            var (name, version) = Specs.NameAndVersion(run.Value(spec)!, versionRequired: false);
            using var client = run.Settings.Client();
            if (version is null)
            {
                var package = await client.GetPackageAsync(name, ct);
                if (run.Output.Json)
                {
                    run.Output.WriteJson(package);
                    return ExitCodes.Ok;
                }
                var table = Output.Table("", "");
                Output.Row(table, "name", package.DisplayName == package.Name ? package.Name : $"{package.Name} ({package.DisplayName})");
                Output.Row(table, "latest", package.Latest ?? "(every version is yanked)");
                Output.Row(table, "versions", package.Versions.Count.ToString(CultureInfo.InvariantCulture));
                Output.Row(table, "downloads", package.Downloads.ToString(CultureInfo.InvariantCulture));
                Output.Row(table, "owners", string.Join("\n", package.Owners.Select(o => o.KeyId)));
                if (package.TrustedPublishers is { Count: > 0 } publishers)
                    Output.Row(table, "trusted publishers", string.Join("\n", publishers.Select(p => $"{p.Repository} {p.Workflow}{(p.Environment is null ? "" : " environment " + p.Environment)}")) +
                                                            (package.RequireTrustedPublishing ? "\n(required: owner keys may not publish)" : ""));
                Output.Row(table, "created", package.CreatedAt.ToString("u", CultureInfo.InvariantCulture));
                Output.Row(table, "updated", package.UpdatedAt.ToString("u", CultureInfo.InvariantCulture));
                run.Output.Write(table);
                return ExitCodes.Ok;
            }
            var info = await client.GetVersionAsync(name, version, ct);
            if (run.Output.Json)
            {
                run.Output.WriteJson(info);
                return ExitCodes.Ok;
            }
            var m = info.Manifest;
            var rows = Output.Table("", "");
            Output.Row(rows, "name", info.Name);
            Output.Row(rows, "version", info.Version + (info.Yanked ? $"  (yanked{(info.YankedReason is { } r ? ": " + r : "")})" : ""));
            Output.Row(rows, "description", m.Description);
            Output.Row(rows, "license", m.License);
            Output.Row(rows, "authors", string.Join(", ", m.Authors ?? []));
            Output.Row(rows, "keywords", string.Join(", ", m.Keywords ?? []));
            Output.Row(rows, "dependencies", string.Join("\n", (m.Dependencies ?? new Dictionary<string, string>()).Select(d => $"{d.Key} {d.Value}")));
            Output.Row(rows, "sha256", info.Sha256);
            Output.Row(rows, "size", Output.Size(info.Size));
            Output.Row(rows, "signed by", info.KeyId + (info.Provenance is null ? "" : " (certified by the registry for a trusted publisher)"));
            if (info.Provenance is { } built)
                Output.Row(rows, "built by", $"{built.Repository} {built.Workflow}{(built.Environment is null ? "" : " environment " + built.Environment)}" +
                                             $"\n{built.Ref} {built.Sha} run {built.RunId}\n{built.Issuer}");
            Output.Row(rows, "published", info.PublishedAt.ToString("u", CultureInfo.InvariantCulture));
            Output.Row(rows, "downloads", info.Downloads.ToString(CultureInfo.InvariantCulture));
            run.Output.Write(rows);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Versions(GlobalOptions options, CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Package name" };
        var command = new Command("versions", "List a package's versions, newest first.") { name };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            using var client = run.Settings.Client();
            var package = await client.GetPackageAsync(run.Value(name)!, ct);
            var versions = package.Versions
                .OrderByDescending(v => Semver.SemVersion.TryParse(v.Version, Semver.SemVersionStyles.Strict, out var s) ? s : new Semver.SemVersion(0), Semver.SemVersion.PrecedenceComparer)
                .ToList();
            if (run.Output.Json)
            {
                run.Output.WriteJson(new { package.Name, package.Latest, versions });
                return ExitCodes.Ok;
            }
            var table = Output.Table("version", "published", "size", "yanked", "signed by", "sha256");
            foreach (var v in versions)
                Output.Row(table, v.Version + (v.Version == package.Latest ? " (latest)" : ""), v.PublishedAt.ToString("u", CultureInfo.InvariantCulture),
                    Output.Size(v.Size), v.Yanked ? "yanked" : "", v.KeyId, v.Sha256[..12] + "…");
            run.Output.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }
}

/// <summary>Parses <c>name@version</c> and <c>name@range</c> arguments (a name never holds '@').</summary>
internal static class Specs
{
    public static (string Name, string? Version) NameAndVersion(string spec, bool versionRequired)
    {
        if (spec.StartsWith('-'))
            throw new UsageException($"Unknown option '{spec}'.");
        var at = spec.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
            return versionRequired ? throw new UsageException($"'{spec}' needs a version: {spec}@1.2.3.") : (spec, null);
        if (at == 0 || at == spec.Length - 1)
            throw new UsageException($"'{spec}' is not name@version.");
        return (spec[..at], spec[(at + 1)..]);
    }
}
