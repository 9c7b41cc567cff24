namespace Marketplace.Packages;

/// <summary>
/// A strict SemVer 2.0.0 version. <see cref="Key"/> drops build metadata: versions that differ only in build
/// metadata are one version (<c>1.0.0+a</c> collides with <c>1.0.0</c>). Ordering is SemVer precedence.
/// </summary>
public sealed class SemanticVersion : IComparable<SemanticVersion>, IEquatable<SemanticVersion>
{
    public const int MaxLength = 128;

    private SemanticVersion(long major, long minor, long patch, string[] prerelease, string? build, string text)
    {
        Major = major; Minor = minor; Patch = patch; Prerelease = prerelease; Build = build; Text = text;
        Key = build is null ? text : text[..text.IndexOf('+', StringComparison.Ordinal)];
    }

    public long Major { get; }
    public long Minor { get; }
    public long Patch { get; }
    public IReadOnlyList<string> Prerelease { get; }
    public string? Build { get; }
    /// <summary>The version as written, build metadata included.</summary>
    public string Text { get; }
    /// <summary>The identity of the version: the text without build metadata.</summary>
    public string Key { get; }
    public bool IsPrerelease => Prerelease.Count > 0;

    public static Outcome<SemanticVersion> Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return DomainError.InvalidVersion("A version is required.");
        if (text.Length > MaxLength)
            return DomainError.InvalidVersion($"A version has at most {MaxLength} characters.");

        var rest = text.AsSpan();
        string? build = null;
        var plus = rest.IndexOf('+');
        if (plus >= 0)
        {
            build = rest[(plus + 1)..].ToString();
            if (!Identifiers(build, numericRules: false))
                return Invalid(text, "build metadata must be dot-separated non-empty identifiers of [0-9A-Za-z-]");
            rest = rest[..plus];
        }
        var prerelease = Array.Empty<string>();
        var dash = rest.IndexOf('-');
        if (dash >= 0)
        {
            var pre = rest[(dash + 1)..].ToString();
            if (!Identifiers(pre, numericRules: true))
                return Invalid(text, "pre-release identifiers must be non-empty [0-9A-Za-z-], numeric ones without leading zeros");
            prerelease = pre.Split('.');
            rest = rest[..dash];
        }
        Span<Range> parts = stackalloc Range[4];
        if (rest.Split(parts, '.') != 3)
            return Invalid(text, "expected MAJOR.MINOR.PATCH");
        if (!Numeric(rest[parts[0]], out var major) || !Numeric(rest[parts[1]], out var minor) || !Numeric(rest[parts[2]], out var patch))
            return Invalid(text, "MAJOR, MINOR and PATCH are non-negative integers without leading zeros");
        return new SemanticVersion(major, minor, patch, prerelease, build, text);
    }

    private static DomainError Invalid(string text, string why) =>
        DomainError.InvalidVersion($"'{text}' is not a SemVer 2.0.0 version: {why}.");

    private static bool Numeric(ReadOnlySpan<char> s, out long value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 18 || (s.Length > 1 && s[0] == '0'))
            return false;
        foreach (var c in s)
        {
            if (c is < '0' or > '9') return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }

    private static bool Identifiers(string s, bool numericRules)
    {
        if (s.Length == 0) return false;
        foreach (var id in s.Split('.'))
        {
            if (id.Length == 0) return false;
            var allDigits = true;
            foreach (var c in id)
            {
                if (!(c is >= '0' and <= '9' or >= 'a' and <= 'z' or >= 'A' and <= 'Z' or '-')) return false;
                allDigits &= c is >= '0' and <= '9';
            }
            if (numericRules && allDigits && id.Length > 1 && id[0] == '0') return false;
        }
        return true;
    }

    public int CompareTo(SemanticVersion? other)
    {
        if (other is null) return 1;
        var c = Major.CompareTo(other.Major);
        if (c != 0) return c;
        c = Minor.CompareTo(other.Minor);
        if (c != 0) return c;
        c = Patch.CompareTo(other.Patch);
        if (c != 0) return c;
        // A version without pre-release has higher precedence than one with.
        if (Prerelease.Count == 0 && other.Prerelease.Count == 0) return 0;
        if (Prerelease.Count == 0) return 1;
        if (other.Prerelease.Count == 0) return -1;
        for (var i = 0; i < Math.Min(Prerelease.Count, other.Prerelease.Count); i++)
        {
            c = CompareIdentifier(Prerelease[i], other.Prerelease[i]);
            if (c != 0) return c;
        }
        return Prerelease.Count.CompareTo(other.Prerelease.Count);
    }

    private static int CompareIdentifier(string a, string b)
    {
        var aNum = a.All(char.IsAsciiDigit);
        var bNum = b.All(char.IsAsciiDigit);
        if (aNum && bNum)
            return a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
        if (aNum) return -1; // numeric identifiers have lower precedence than alphanumeric ones
        if (bNum) return 1;
        return string.CompareOrdinal(a, b);
    }

    public bool Equals(SemanticVersion? other) => other is not null && Key == other.Key;
    public override bool Equals(object? obj) => obj is SemanticVersion v && Equals(v);
    public override int GetHashCode() => Key.GetHashCode(StringComparison.Ordinal);
    public override string ToString() => Text;

    public static bool operator <(SemanticVersion a, SemanticVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(SemanticVersion a, SemanticVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(SemanticVersion a, SemanticVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(SemanticVersion a, SemanticVersion b) => a.CompareTo(b) >= 0;
    public static bool operator ==(SemanticVersion? a, SemanticVersion? b) => a?.Equals(b) ?? b is null;
    public static bool operator !=(SemanticVersion? a, SemanticVersion? b) => !(a == b);
}
