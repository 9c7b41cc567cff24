namespace Marketplace.Packages;

/// <summary>
/// Package names: lowercase ASCII letters, digits and '-', starting with a letter, 1–64 characters after
/// normalisation (lowercase; '_' and '.' become '-'). The normalised form is the key of the package stream.
/// </summary>
public static class PackageName
{
    public const int MaxLength = 64;

    public static Outcome<string> Normalize(string? raw)
    {
        if (string.IsNullOrEmpty(raw))
            return DomainError.InvalidName("A package name is required.");
        if (raw.Length > MaxLength)
            return DomainError.InvalidName($"A package name has at most {MaxLength} characters.");

        Span<char> normalized = stackalloc char[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            // ASCII only: a Cyrillic 'а' or a full-width letter must never alias a Latin name.
            if (c > 0x7F)
                return DomainError.InvalidName(
                    $"'{raw}' contains a non-ASCII character at position {i + 1}; names are ASCII letters, digits and '-'.");
            normalized[i] = c switch
            {
                >= 'A' and <= 'Z' => (char)(c + 32),
                '_' or '.' => '-',
                _ => c,
            };
            var n = normalized[i];
            if (!(n is >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
                return DomainError.InvalidName($"'{raw}' contains '{c}'; names are ASCII letters, digits, '-', '_' and '.'.");
        }
        if (normalized[0] is < 'a' or > 'z')
            return DomainError.InvalidName($"'{raw}' must start with a letter.");
        return new string(normalized);
    }
}
