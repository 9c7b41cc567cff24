using Marketplace.Client.Packing;
using Marketplace.Client.Resolution;
using Marketplace.Client.Verification;
using Marketplace.Client.Http;
using Marketplace.Packages;

namespace Marketplace.Client.Installing;

/// <summary>What to install: requirements (name → npm range, or null for "^ the latest version"), into which folder.</summary>
public sealed record InstallRequest(string Directory, IReadOnlyDictionary<string, string?> Requirements)
{
    /// <summary>Refuse when the lockfile would change (the lockfile is the whole truth: CI installs).</summary>
    public bool Frozen { get; init; }
}

public sealed record InstalledPackage(string Name, string Version, string Sha256, long Size, string KeyId, bool Yanked, bool FromLockfile);

public sealed record InstallResult(IReadOnlyList<InstalledPackage> Packages, string LockfilePath, bool LockfileChanged);

/// <summary>Where an install is; the CLI turns these into lines and progress bars.</summary>
public interface IInstallObserver
{
    void Resolved(DependencyGraph graph) { }
    void Verifying(string name, string version) { }
    IProgress<TransferProgress>? Downloading(string name, string version, long size) => null;
    void Verified(InstalledPackage package) { }
}

/// <summary>
/// Installs a resolved graph so that nothing unverified ever lands: every version's DSSE signature and statement are
/// checked, its package history is proven in the transparency log (under a checkpoint consistent with the last one
/// kept) and shows the signing key as an owner at publish time, its blob is downloaded through the redirect into a
/// private staging folder while hashed and must match the signed digest and size, then it is unpacked there. Only
/// when every package passed are the package folders moved into the target and <c>mkt.lock</c> written; a failure
/// leaves the target exactly as it was.
/// </summary>
public sealed class Installer(MarketplaceClient client)
{
    public async Task<InstallResult> InstallAsync(InstallRequest request, IInstallObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        observer ??= new NoObserver();
        var target = Path.GetFullPath(request.Directory);
        var lockPath = Path.Combine(target, Lockfile.FileName);
        var previous = await Lockfile.ReadAsync(lockPath, cancellationToken);

        var requires = new SortedDictionary<string, string>(previous?.Requires ?? [], StringComparer.Ordinal);
        foreach (var (raw, range) in request.Requirements)
        {
            var name = PackageName.Normalize(raw).Value
                ?? throw new ResolutionException(ClientErrorCodes.InvalidName, $"'{raw}' is not a package name.");
            requires[name] = range ?? await CaretLatestAsync(name, cancellationToken);
        }
        if (requires.Count == 0)
            throw new ResolutionException(ClientErrorCodes.NoMatchingVersion, $"Nothing to install: name a package, or run in a folder with {Lockfile.FileName}.");

        var registry = new RegistryPackageSource(client);
        var locked = previous?.Packages.ToDictionary(p => p.Key, p => p.Value.Version, StringComparer.Ordinal);
        var resolution = await new Resolver(registry).ResolveAsync(requires, locked, cancellationToken);
        observer.Resolved(resolution);

        var staging = Directory.CreateTempSubdirectory("mkt-install-").FullName;
        try
        {
            var installed = new List<InstalledPackage>();
            var packages = new SortedDictionary<string, LockedPackage>(StringComparer.Ordinal);
            foreach (var package in resolution.Packages)
            {
                var entry = await StageAsync(package, registry, previous, staging, observer, cancellationToken);
                installed.Add(entry);
                observer.Verified(entry);
                packages[package.Name] = new LockedPackage(entry.Version, entry.Sha256, entry.Size, entry.KeyId,
                    new SortedDictionary<string, string>(package.Dependencies.ToDictionary(), StringComparer.Ordinal));
            }
            var lockfile = new Lockfile(Lockfile.CurrentVersion, requires, packages);
            var json = lockfile.ToJson();
            var changed = previous is null || previous.ToJson() != json;
            if (request.Frozen && changed)
                throw new ResolutionException(ClientErrorCodes.LockfileMismatch,
                    previous is null ? $"--frozen needs a {Lockfile.FileName} in {target}." : $"--frozen: the install would change {lockPath}.");

            // Every check passed: only now is the target touched.
            Directory.CreateDirectory(target);
            foreach (var package in installed)
                Replace(Path.Combine(staging, "packages", package.Name), Path.Combine(target, package.Name));
            foreach (var gone in previous?.Packages.Keys.Except(packages.Keys) ?? [])
            {
                var folder = Path.Combine(target, gone);
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
            // Written beside its place and renamed over it: a reader never sees half a lockfile.
            var temporary = Path.Combine(target, $".{Lockfile.FileName}.{Guid.NewGuid():n}.tmp");
            await File.WriteAllTextAsync(temporary, json, CancellationToken.None);
            File.Move(temporary, lockPath, overwrite: true);
            return new InstallResult(installed, lockPath, changed);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private async Task<InstalledPackage> StageAsync(ResolvedPackage package, RegistryPackageSource registry, Lockfile? previous, string staging,
        IInstallObserver observer, CancellationToken cancellationToken)
    {
        observer.Verifying(package.Name, package.Version);
        var (version, statement) = await registry.VerifiedVersionAsync(package.Name, package.Version, cancellationToken);
        var lockedEntry = previous?.Packages.GetValueOrDefault(package.Name);
        var fromLock = lockedEntry is not null && lockedEntry.Version == package.Version;
        if (fromLock && (lockedEntry!.Sha256 != statement.Sha256 || lockedEntry.Size != statement.Size))
            throw new VerificationException(ClientErrorCodes.LockfileMismatch,
                $"{package.Name}@{package.Version}: {Lockfile.FileName} has sha256 {lockedEntry.Sha256}, the registry now serves {statement.Sha256}.");

        var history = await HistoryWithPublishAsync(package.Name, version, cancellationToken);
        await client.Log.VerifyIncludedAsync(history, cancellationToken);
        PublishVerifier.VerifyOwnerAtPublish(version, statement, history,
            version.Certificate is null ? null : await client.Log.PinnedRegistryKeyAsync(cancellationToken));

        var blob = Path.Combine(staging, "blobs", statement.Sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        DownloadResult downloaded;
        await using (var file = new FileStream(blob, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            downloaded = await client.DownloadAsync(package.Name, package.Version, file, statement.Size,
                observer.Downloading(package.Name, package.Version, statement.Size), cancellationToken);
        if (downloaded.Sha256 != statement.Sha256 || downloaded.Size != statement.Size)
            throw new VerificationException(ClientErrorCodes.DigestMismatch,
                $"{package.Name}@{package.Version}: the blob downloaded from {downloaded.BlobUrl.GetLeftPart(UriPartial.Path)} has sha256 {downloaded.Sha256} " +
                $"({downloaded.Size} bytes); its publisher signed sha256 {statement.Sha256} ({statement.Size} bytes).");
        await PackageArchive.UnpackAsync(blob, Path.Combine(staging, "packages", package.Name), cancellationToken);
        File.Delete(blob);
        return new InstalledPackage(package.Name, package.Version, statement.Sha256, statement.Size, version.KeyId, version.Yanked, fromLock);
    }

    /// <summary>
    /// The package's history, once it holds this version's publish: the feed serves events up to the daemon's
    /// high-water mark, which can trail a read model by a moment.
    /// </summary>
    private async Task<IReadOnlyList<RegistryEvent>> HistoryWithPublishAsync(string name, VersionInfo version, CancellationToken cancellationToken)
    {
        var key = SemanticVersion.Parse(version.Version).Value?.Key;
        var deadline = client.Options.TimeProvider.GetUtcNow() + client.Options.LogInclusionWait;
        while (true)
        {
            var history = await client.GetPackageEventsAsync(name, cancellationToken);
            if (history.Any(e => e.Type == RegistryEvent.Published && SemanticVersion.Parse(e.DataString("version")).Value?.Key == key)
                || client.Options.TimeProvider.GetUtcNow() > deadline)
                return history;
            await Task.Delay(TimeSpan.FromMilliseconds(200), client.Options.TimeProvider, cancellationToken);
        }
    }

    /// <summary>npm's default for a bare name: <c>^</c> the registry's latest version (stable first, else pre-release).</summary>
    private async Task<string> CaretLatestAsync(string name, CancellationToken cancellationToken)
    {
        PackageInfo package;
        try
        {
            package = await client.GetPackageAsync(name, cancellationToken);
        }
        catch (MarketplaceApiException e) when (e.IsNotFound)
        {
            throw new ResolutionException(ClientErrorCodes.UnknownPackage, $"The registry has no package {name}.");
        }
        return package.Latest is { } latest
            ? "^" + latest
            : throw new ResolutionException(ClientErrorCodes.NoMatchingVersion, $"Every version of {name} is yanked; name one exactly to install it.");
    }

    /// <summary>Moves a staged folder over the target's, falling back to a copy across file systems.</summary>
    private static void Replace(string staged, string destination)
    {
        if (Directory.Exists(destination))
            Directory.Delete(destination, recursive: true);
        try
        {
            Directory.Move(staged, destination);
        }
        catch (IOException)
        {
            CopyTree(staged, destination);
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var directory in Directory.EnumerateDirectories(from))
            CopyTree(directory, Path.Combine(to, Path.GetFileName(directory)));
        foreach (var file in Directory.EnumerateFiles(from))
        {
            var copy = Path.Combine(to, Path.GetFileName(file));
            File.Copy(file, copy);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(copy, File.GetUnixFileMode(file));
        }
    }

    private sealed class NoObserver : IInstallObserver;
}
