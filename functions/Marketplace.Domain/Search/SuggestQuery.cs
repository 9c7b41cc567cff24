namespace Marketplace.Search;

/// <summary>
/// A validated <c>GET /v1/search/suggest?q=</c> prefix: what the user has typed of a package name, normalised as
/// names are (lowercase; <c>_</c>, <c>.</c> and spaces become <c>-</c>), so <c>Serde_J</c> suggests <c>serde-json</c>.
/// </summary>
public sealed record SuggestQuery(string Prefix)
{
    /// <summary>How many names a suggestion lists.</summary>
    public const int Size = 8;

    public static Outcome<SuggestQuery> Create(string? q)
    {
        var text = (q ?? "").Trim();
        if (text.Length == 0 || text.Length > Packages.PackageName.MaxLength)
            return DomainError.InvalidQuery($"q is 1–{Packages.PackageName.MaxLength} characters of a package name.");
        var prefix = new char[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            var c = char.ToLowerInvariant(text[i]);
            prefix[i] = c is '_' or '.' or ' ' ? '-' : c;
            if (prefix[i] is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
                return DomainError.InvalidQuery("q holds only the letters, digits, '-', '_', '.' and spaces a package name can have.");
        }
        return new SuggestQuery(new string(prefix));
    }
}

/// <summary>The answer of <c>GET /v1/search/suggest</c>: up to <see cref="SuggestQuery.Size"/> visible packages whose name starts with the
/// prefix, the exact name first, then the most downloaded.</summary>
public sealed record SuggestResult(IReadOnlyList<Suggestion> Suggestions);

public sealed record Suggestion(string Name, string Version, string? Description);
