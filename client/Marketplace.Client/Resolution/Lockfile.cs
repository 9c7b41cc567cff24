using System.Text.Json;

namespace Marketplace.Client.Resolution;

/// <summary>One locked package: the exact version, its blob's digest and size, the key that signed it, its dependencies.</summary>
public sealed record LockedPackage(string Version, string Sha256, long Size, string KeyId, SortedDictionary<string, string> Dependencies);

/// <summary>
/// <c>mkt.lock</c>: what an install chose, so that the next install makes the same choice and can tell when the registry
/// serves something else. <c>requires</c> holds the install's own requirements (name → range); <c>packages</c> every
/// package of the graph. Keys are sorted and the JSON indented, so the same graph always writes the same bytes.
/// </summary>
public sealed record Lockfile(int LockfileVersion, SortedDictionary<string, string> Requires, SortedDictionary<string, LockedPackage> Packages)
{
    public const string FileName = "mkt.lock";
    public const int CurrentVersion = 1;

    public static Lockfile Empty => new(CurrentVersion, new(StringComparer.Ordinal), new(StringComparer.Ordinal));

    public static async Task<Lockfile?> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path)) return null;
        await using var stream = File.OpenRead(path);
        Lockfile? lockfile;
        try
        {
            lockfile = await JsonSerializer.DeserializeAsync<Lockfile>(stream, ClientJson.Options, cancellationToken);
        }
        catch (JsonException e)
        {
            throw new ResolutionException(ClientErrorCodes.LockfileMismatch, $"{path} is not a lockfile: {e.Message}");
        }
        if (lockfile is null || lockfile.LockfileVersion != CurrentVersion)
            throw new ResolutionException(ClientErrorCodes.LockfileMismatch, $"{path} has lockfile version {lockfile?.LockfileVersion}; this mkt reads version {CurrentVersion}.");
        return lockfile with
        {
            Requires = new SortedDictionary<string, string>(lockfile.Requires ?? [], StringComparer.Ordinal),
            Packages = new SortedDictionary<string, LockedPackage>(lockfile.Packages ?? [], StringComparer.Ordinal),
        };
    }

    public string ToJson() => JsonSerializer.Serialize(this, ClientJson.Indented).ReplaceLineEndings("\n") + "\n";
}
