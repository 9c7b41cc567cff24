using System.Globalization;

namespace Marketplace.Search;

public enum SearchSort { Relevance, Downloads, Recent }

/// <summary>A validated <c>GET /v1/search</c> request: both adapters receive only queries that passed <see cref="Create"/>.</summary>
public sealed record SearchQuery(
    string Text,
    string? Category,
    string? Keyword,
    string? Author,
    string? License,
    long MinDownloads,
    SearchSort Sort,
    int Limit,
    int Offset)
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;
    /// <summary>Deep paging costs the database a sort of everything before the page; registries cap it too.</summary>
    public const int MaxOffset = 10_000;
    public const int MaxTextLength = 256;
    public const int MaxFilterLength = 256;
    /// <summary>How many values each facet lists (the most frequent first).</summary>
    public const int FacetValues = 20;

    public static SearchQuery Everything { get; } = new("", null, null, null, null, 0, SearchSort.Relevance, DefaultLimit, 0);

    /// <summary>
    /// Words of the query as search matches them: lowercase runs of letters and digits (a name like
    /// <c>serde-json</c> is the words <c>serde</c> and <c>json</c>). At most 16.
    /// </summary>
    public IReadOnlyList<string> Words { get; } = WordsOf(Text);

    public bool IsEmpty => Words.Count == 0;

    public static IReadOnlyList<string> WordsOf(string text) => WordsOf(text, 16);

    /// <summary>The words of a text as search matches them, at most <paramref name="max"/> (an index takes them all).</summary>
    public static IReadOnlyList<string> WordsOf(string text, int max)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var letter = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (letter && start < 0) start = i;
            else if (!letter && start >= 0)
            {
                words.Add(text[start..i].ToLowerInvariant());
                start = -1;
                if (words.Count == max) break;
            }
        }
        return words;
    }

    /// <summary>Parses the query string's parameters; every value is bounded and checked.</summary>
    public static Outcome<SearchQuery> Create(string? q, string? category, string? keyword, string? author, string? license,
        string? minDownloads, string? sort, string? limit, string? offset)
    {
        var text = (q ?? "").Trim();
        if (text.Length > MaxTextLength) return Invalid($"q has at most {MaxTextLength} characters.");
        if (text.Any(char.IsControl)) return Invalid("q must not contain control characters.");
        foreach (var (field, value) in new[] { ("category", category), ("keyword", keyword), ("author", author), ("license", license) })
        {
            if (value is null) continue;
            if (value.Length == 0 || value.Length > MaxFilterLength || value.Any(char.IsControl))
                return Invalid($"{field} is 1–{MaxFilterLength} printable characters.");
        }
        long min = 0;
        if (minDownloads is not null && (!long.TryParse(minDownloads, NumberStyles.None, CultureInfo.InvariantCulture, out min)))
            return Invalid("minDownloads is a non-negative integer.");
        var order = (sort ?? "relevance") switch
        {
            "relevance" => SearchSort.Relevance,
            "downloads" => SearchSort.Downloads,
            "recent" => SearchSort.Recent,
            _ => (SearchSort?)null,
        };
        if (order is null) return Invalid("sort is relevance, downloads or recent.");
        var size = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxLimit))
            return Invalid($"limit is an integer from 1 to {MaxLimit}.");
        var skip = 0;
        if (offset is not null && (!int.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out skip) || skip > MaxOffset))
            return Invalid($"offset is an integer from 0 to {MaxOffset}.");
        return new SearchQuery(text, Lower(category), Lower(keyword), author, license, min, order.Value, size, skip);
    }

    // Keywords and categories are lowercase by the manifest rules; a filter in another case still matches.
    private static string? Lower(string? value) => value?.ToLowerInvariant();

    private static DomainError Invalid(string detail) => DomainError.InvalidQuery(detail);
}
