using System.Text.Json;
using System.Text.Json.Serialization;
using Marketplace.Packages;
using Semver;

namespace Marketplace.Client.Packing;

/// <summary>A manifest file that is not usable: the message says which field and why.</summary>
public sealed class ManifestException(string message) : MarketplaceException("invalid-manifest", message);

/// <summary>
/// <c>mkt.json</c>, the package manifest file: <c>name</c> and <c>version</c> plus the manifest fields of API.md
/// (<c>description</c>, <c>authors</c>, <c>license</c>, <c>repository</c>, <c>homepage</c>, <c>keywords</c>,
/// <c>categories</c>, <c>dependencies</c>, <c>readme</c>), and <c>readmeFile</c>, a path in the package whose text
/// becomes <c>readme</c>. Unknown fields are refused, so a typo never silently drops a field. It is checked with the
/// registry's own rules before anything is signed.
/// </summary>
public sealed record ManifestFile(string Name, string Version, PackageManifest Manifest)
{
    public const string FileName = "mkt.json";
    public const int MaxBytes = 256 * 1024;

    [JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
    private sealed record Document(
        string? Name, string? Version, string? Description, IReadOnlyList<string>? Authors, string? License, string? Repository,
        string? Homepage, IReadOnlyList<string>? Keywords, IReadOnlyList<string>? Categories,
        IReadOnlyDictionary<string, string>? Dependencies, string? Readme, string? ReadmeFile);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        AllowDuplicateProperties = false,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads <c>mkt.json</c> of a folder.</summary>
    public static async Task<ManifestFile> ReadAsync(string directory, CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new ManifestException($"{path} does not exist: a package folder needs a {FileName} with at least name and version.");
        if (new FileInfo(path).Length > MaxBytes)
            throw new ManifestException($"{path} is larger than {MaxBytes} bytes.");
        return Parse(await File.ReadAllTextAsync(path, cancellationToken), path,
            readmeFile => File.ReadAllText(SafeRelative(directory, readmeFile)));
    }

    /// <summary>Parses and checks a manifest; <paramref name="readFile"/> loads <c>readmeFile</c> (null: not allowed here).</summary>
    public static ManifestFile Parse(string json, string source, Func<string, string>? readFile = null)
    {
        Document doc;
        try
        {
            doc = JsonSerializer.Deserialize<Document>(json, Json) ?? throw new JsonException("the manifest is null");
        }
        catch (JsonException e)
        {
            throw new ManifestException($"{source} is not a valid manifest: {e.Message}");
        }
        if (PackageName.Normalize(doc.Name).Error is { } nameError)
            throw new ManifestException($"{source}: name: {nameError.Detail}");
        var version = SemanticVersion.Parse(doc.Version);
        if (version.Error is { } versionError)
            throw new ManifestException($"{source}: version: {versionError.Detail}");
        if (doc.Readme is not null && doc.ReadmeFile is not null)
            throw new ManifestException($"{source}: give readme or readmeFile, not both.");
        var readme = doc.Readme;
        if (doc.ReadmeFile is { } readmeFile)
        {
            if (readFile is null)
                throw new ManifestException($"{source}: readmeFile cannot be read here.");
            try
            {
                readme = readFile(readmeFile);
            }
            catch (IOException e)
            {
                throw new ManifestException($"{source}: readmeFile '{readmeFile}': {e.Message}");
            }
        }
        var manifest = new PackageManifest(doc.Description, doc.Authors, doc.License, doc.Repository, doc.Homepage,
            doc.Keywords, doc.Categories, doc.Dependencies, readme);
        if (ManifestRules.Validate(manifest) is { } error)
            throw new ManifestException($"{source}: {error.Detail}");
        foreach (var (dependency, range) in doc.Dependencies ?? new Dictionary<string, string>())
        {
            if (!DependencyRange.TryParse(range, out _))
                throw new ManifestException($"{source}: dependency '{dependency}': '{range}' is not an npm-style SemVer range.");
        }
        return new ManifestFile(doc.Name!, doc.Version!, manifest);
    }

    private static string SafeRelative(string directory, string relative)
    {
        var root = Path.GetFullPath(directory);
        var full = Path.GetFullPath(Path.Combine(root, relative));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ManifestException($"readmeFile '{relative}' is outside the package folder.");
        return full;
    }
}
