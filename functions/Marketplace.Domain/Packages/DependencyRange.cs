using Semver;

namespace Marketplace.Packages;

/// <summary>
/// The one reader of dependency ranges, npm's range grammar (<c>^1.2.0</c>, <c>&gt;=2 &lt;3</c>, <c>1.x || 2.x</c>,
/// hyphen ranges), shared by the registry (a manifest whose ranges no client could resolve is refused at publish)
/// and the client's resolver.
/// </summary>
public static class DependencyRange
{
    /// <summary>The longest range accepted, in characters.</summary>
    public const int MaxLength = 256;

    public static bool TryParse(string? text, out SemVersionRange range)
    {
        range = null!;
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxLength) return false;
        // npm's grammar separates with spaces only; the library is lenient about other whitespace (tabs, newlines),
        // which a manifest must not carry.
        if (text.AsSpan().IndexOfAnyExcept(Allowed) >= 0) return false;
        if (!SemVersionRange.TryParseNpm(text, out var parsed, MaxLength)) return false;
        range = parsed;
        return true;
    }

    private static readonly System.Buffers.SearchValues<char> Allowed =
        System.Buffers.SearchValues.Create("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.*^~<>=| +-");

    public static bool IsValid(string? text) => TryParse(text, out _);
}
