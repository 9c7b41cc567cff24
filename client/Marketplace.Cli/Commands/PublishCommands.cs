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
        var command = new Command("publish", "Sign and publish a version (inline up to the registry's limit, else a presigned upload).") { path, key, wait, timeout };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            var source = run.Context.Resolve(run.Value(path)!);
            var keyring = await run.Settings.KeyringAsync(ct);
            using var signer = keyring.OpenSigner(run.Value(key));
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
                var published = await run.Output.WithProgressAsync(bars =>
                    client.PublishFileAsync(signer, manifest.Name, manifest.Version, manifest.Manifest, archive,
                        bars.Add($"{manifest.Name}@{manifest.Version}", size), ct));
                bool? visible = null;
                if (run.Value(wait))
                    visible = await WaitVisibleAsync(client, manifest.Name, manifest.Version, TimeSpan.FromSeconds(run.Value(timeout)), ct);
                if (run.Output.Json)
                    run.Output.WriteJson(new { published.Name, published.Version, published.Sha256, size, published.Sequence, published.Uploaded, signer.Owner.KeyId, searchVisible = visible });
                else
                {
                    run.Output.Success($"published {published.Name}@{published.Version} ({Output.Size(size)}{(published.Uploaded ? ", uploaded" : "")}, sha256 {published.Sha256}, sequence {published.Sequence}) signed by {signer.Owner.KeyId}");
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

    /// <summary>Polls until the version is readable and search shows it: reads are eventually consistent (README, searchVisible).</summary>
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
