using System.Text;
using System.Text.RegularExpressions;

namespace Marketplace.Packages;

/// <summary>The manifest a publisher signs with the version (API.md, "Manifest").</summary>
public sealed record PackageManifest(
    string? Description = null,
    IReadOnlyList<string>? Authors = null,
    string? License = null,
    string? Repository = null,
    string? Homepage = null,
    IReadOnlyList<string>? Keywords = null,
    IReadOnlyList<string>? Categories = null,
    IReadOnlyDictionary<string, string>? Dependencies = null,
    string? Readme = null);

public static partial class ManifestRules
{
    public const int MaxDescription = 1024;
    public const int MaxAuthors = 32;
    public const int MaxAuthorLength = 128;
    public const int MaxTags = 10;
    public const int MaxTagLength = 32;
    public const int MaxDependencies = 256;
    public const int MaxRangeLength = 128;
    public const int MaxUrlLength = 2048;
    public const int MaxLicenseLength = 256;
    public const int MaxReadmeBytes = 64 * 1024;

    public static DomainError? Validate(PackageManifest? m)
    {
        if (m is null) return DomainError.InvalidManifest("manifest is required.");
        if (m.Description is { Length: > MaxDescription })
            return DomainError.InvalidManifest($"description has at most {MaxDescription} characters.");
        if (m.Authors is { } authors)
        {
            if (authors.Count > MaxAuthors) return DomainError.InvalidManifest($"authors has at most {MaxAuthors} entries.");
            if (authors.Any(a => string.IsNullOrWhiteSpace(a) || a.Length > MaxAuthorLength || a.Any(char.IsControl)))
                return DomainError.InvalidManifest($"each author is 1–{MaxAuthorLength} printable characters.");
        }
        if (m.License is { } license && (license.Length > MaxLicenseLength || !Spdx.IsExpression(license)))
            return DomainError.InvalidManifest("license must be an SPDX expression such as 'MIT' or '(Apache-2.0 OR MIT)'.");
        if ((UrlError("repository", m.Repository) ?? UrlError("homepage", m.Homepage)) is { } urlError)
            return urlError;
        if ((TagError("keywords", m.Keywords) ?? TagError("categories", m.Categories)) is { } tagError)
            return tagError;
        if (m.Dependencies is { } deps)
        {
            if (deps.Count > MaxDependencies) return DomainError.InvalidManifest($"dependencies has at most {MaxDependencies} entries.");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, range) in deps)
            {
                if (PackageName.Normalize(name).Value is { } key && !seen.Add(key))
                    return DomainError.InvalidManifest($"dependency '{name}' is listed twice (names are compared after normalisation).");
                if (PackageName.Normalize(name).Error is { } nameError)
                    return DomainError.InvalidManifest($"dependency name: {nameError.Detail}");
                if (range is null || range.Length > MaxRangeLength || !DependencyRange.IsValid(range))
                    return InvalidRange(name);
            }
        }
        if (m.Readme is { } readme && Encoding.UTF8.GetByteCount(readme) > MaxReadmeBytes)
            return DomainError.InvalidManifest("readme is at most 64 KiB of UTF-8.");
        return null;
    }

    private static DomainError? UrlError(string field, string? value)
    {
        if (value is null) return null;
        if (value.Length > MaxUrlLength || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps
            || string.IsNullOrEmpty(uri.Host))
            return DomainError.InvalidManifest($"{field} must be an absolute https URL.");
        return null;
    }

    private static DomainError? TagError(string field, IReadOnlyList<string>? tags)
    {
        if (tags is null) return null;
        if (tags.Count > MaxTags) return DomainError.InvalidManifest($"{field} has at most {MaxTags} entries.");
        if (tags.Any(t => t is null || !TagPattern().IsMatch(t)))
            return DomainError.InvalidManifest($"each of {field} is 1–{MaxTagLength} lowercase ASCII letters, digits or '-'.");
        return null;
    }

    [GeneratedRegex(@"\A[a-z0-9][a-z0-9-]{0,31}\z")]
    private static partial Regex TagPattern();

    /// <summary>A dependency range npm's grammar does not read (the code stays <c>invalid-manifest</c>, as before).</summary>
    private static DomainError InvalidRange(string name) =>
        DomainError.InvalidManifest($"dependency '{name}' needs an npm-style SemVer range such as '^1.2.0' or '>=2 <3'.");
}
