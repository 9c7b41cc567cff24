using System.CommandLine;
using Marketplace.Client;
using Marketplace.Client.Packing;

namespace Marketplace.Cli.Commands;

/// <summary><c>mkt publish</c> and <c>mkt pack</c>: a folder with <c>mkt.json</c>, packed deterministically, signed, sent.</summary>
internal static class PublishCommands
{
    public static Command Publish(GlobalOptions options, CliContext context)
    {
        var path = new Argument<string>("path") { Description = "A package folder holding mkt.json, or a .tar.gz archive with mkt.json at its top" };
        var key = new Option<string?>("--key") { Description = "Keyring key to sign with (default: the default key)" };
        var wait = new Option<bool>("--wait") { Description = "Wait until the version is readable and visible in search" };
        var timeout = new Option<int>("--wait-timeout") { Description = "Seconds --wait waits at most", DefaultValueFactory = _ => 60 };
        var trusted = new Option<bool>("--trusted")
        {
            Description = "Trusted publishing from CI: exchange the job's OIDC ID token (GitHub Actions' token request variables, else $MKT_ID_TOKEN) " +
                          "for a certificate of a key made in memory, and publish with it (no keyring)",
        };
        var command = new Command("publish", "Sign and publish a version (inline up to the registry's limit, else a presigned upload).") { path, key, wait, timeout, trusted };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            var source = run.Context.Resolve(run.Value(path)!);
            var isTrusted = run.Value(trusted);
            if (isTrusted && run.Value(key) is not null)
                throw new UsageException("--trusted publishes with a key made in memory; it takes no --key.");
            using var signer = isTrusted ? null : (await run.Settings.KeyringAsync(ct)).OpenSigner(run.Value(key));
            string? temporary = null;
            try
            {
                ManifestFile manifest;
                string archive;
                if (Directory.Exists(source))
                {
                    manifest = await ManifestFile.ReadAsync(source, ct);
                    temporary = archive = Path.Combine(Path.GetTempPath(), $"mkt-pack-{Guid.NewGuid():n}.tar.gz");
                    await PackageArchive.PackToFileAsync(source, archive, ct);
                }
                else if (File.Exists(source))
                {
                    archive = source;
                    manifest = await ManifestOfArchiveAsync(archive, ct);
                }
                else
                {
                    throw new UsageException($"{source} is neither a package folder nor an archive.");
                }

                using var client = run.Settings.Client();
                var size = new FileInfo(archive).Length;
                string keyId;
                PublishResult published;
                if (isTrusted)
                {
                    var token = await IdTokenAsync(run, client, ct);
                    var (result, ephemeral, _) = await run.Output.WithProgressAsync(bars =>
                        client.PublishTrustedFileAsync(token, manifest.Name, manifest.Version, manifest.Manifest, archive,
                            bars.Add($"{manifest.Name}@{manifest.Version}", size), ct));
                    (published, keyId) = (result, ephemeral.KeyId);
                }
                else
                {
                    published = await run.Output.WithProgressAsync(bars =>
                        client.PublishFileAsync(signer!, manifest.Name, manifest.Version, manifest.Manifest, archive,
                            bars.Add($"{manifest.Name}@{manifest.Version}", size), ct));
                    keyId = signer!.Owner.KeyId;
                }
                bool? visible = null;
                if (run.Value(wait))
                    visible = await WaitVisibleAsync(client, manifest.Name, manifest.Version, TimeSpan.FromSeconds(run.Value(timeout)), ct);
                if (run.Output.Json)
                    run.Output.WriteJson(new { published.Name, published.Version, published.Sha256, size, published.Sequence, published.Uploaded, keyId, trusted = isTrusted, searchVisible = visible });
                else
                {
                    run.Output.Success($"published {published.Name}@{published.Version} ({Output.Size(size)}{(published.Uploaded ? ", uploaded" : "")}, sha256 {published.Sha256}, sequence {published.Sequence}) signed by {keyId}{(isTrusted ? " (certified for this workflow run)" : "")}");
                    if (visible == false) run.Output.Note("not visible in search yet (the index lags); it will be shortly.");
                }
                return ExitCodes.Ok;
            }
            finally
            {
                if (temporary is not null) File.Delete(temporary);
            }
        });
        return command;
    }

    /// <summary>
    /// The CI job's OIDC ID token for this registry: on GitHub Actions from its token endpoint (the job needs
    /// <c>permissions: id-token: write</c>), elsewhere (GitLab <c>id_tokens:</c>, any CI) from <c>MKT_ID_TOKEN</c>.
    /// </summary>
    private static async Task<string> IdTokenAsync(Invocation run, MarketplaceClient client, CancellationToken ct)
    {
        if (run.Context.Variable("ACTIONS_ID_TOKEN_REQUEST_URL") is { } url && run.Context.Variable("ACTIONS_ID_TOKEN_REQUEST_TOKEN") is { } requestToken)
            return await client.RequestGitHubIdTokenAsync(url, requestToken, ct);
        return run.Context.Variable("MKT_ID_TOKEN")
            ?? throw new UsageException("--trusted needs an OIDC ID token: run in GitHub Actions with 'permissions: id-token: write', " +
                                        $"or set MKT_ID_TOKEN (GitLab: an id_tokens entry with aud: {client.Audience}).");
    }

    public static Command Pack(GlobalOptions options, CliContext context)
    {
        var path = new Argument<string>("folder") { Description = "A package folder holding mkt.json" };
        var output = new Option<string?>("--output", "-o") { Description = "Archive to write (default: <name>-<version>.tar.gz here)" };
        var command = new Command("pack", "Pack a folder as publish would (deterministic: same folder, same bytes) without publishing.") { path, output };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            var folder = run.Context.Resolve(run.Value(path)!);
            var manifest = await ManifestFile.ReadAsync(folder, ct);
            var archive = run.Context.Resolve(run.Value(output) ?? $"{manifest.Name}-{manifest.Version}.tar.gz");
            var (sha256, size) = await PackageArchive.PackToFileAsync(folder, archive, ct);
            if (run.Output.Json)
                run.Output.WriteJson(new { manifest.Name, manifest.Version, archive, sha256, size });
            else
                run.Output.Success($"packed {manifest.Name}@{manifest.Version} into {archive} ({Output.Size(size)}, sha256 {sha256})");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<ManifestFile> ManifestOfArchiveAsync(string archive, CancellationToken ct)
    {
        var json = await PackageArchive.ReadTextEntryAsync(archive, ManifestFile.FileName, ManifestFile.MaxBytes, ct)
            ?? throw new UsageException($"{archive} has no {ManifestFile.FileName} at its top.");
        // readmeFile names another entry of the same archive.
        return ManifestFile.Parse(json, $"{archive}:{ManifestFile.FileName}", name =>
            PackageArchive.ReadTextEntryAsync(archive, name, Marketplace.Packages.ManifestRules.MaxReadmeBytes * 4, ct).GetAwaiter().GetResult()
            ?? throw new FileNotFoundException($"{name} is not in the archive."));
    }

    /// <summary>Polls until the version is readable and search shows it: reads are eventually consistent (docs/api.md, searchVisible).</summary>
    private static async Task<bool> WaitVisibleAsync(MarketplaceClient client, string name, string version, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            try
            {
                // Read models lag the publish: the version document (with searchVisible) and the package document are
                // separate projections; an install reads both.
                if ((await client.GetVersionAsync(name, version, ct)).SearchVisible
                    && (await client.GetPackageAsync(name, ct)).Versions.Any(v => v.Version == version))
                    return true;
            }
            catch (MarketplaceApiException e) when (e.IsNotFound)
            {
                // The version document is not projected yet.
            }
            if (DateTimeOffset.UtcNow > deadline) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
    }
}
