using System.Globalization;
using System.Text.Json;
using Marketplace.Search;

namespace Marketplace.Functions.Search.Typesense;

/// <summary>
/// <see cref="SearchQuery"/> in Typesense's search parameters, and Typesense's answer as a <see cref="SearchResult"/>.
/// Pure: no I/O.
/// </summary>
public static class TypesenseQuery
{
    /// <summary>Name matches weigh most, then keywords, then the description; authors least.</summary>
    public const string QueryBy = "name,keywords,description,authors";
    public const string QueryByWeights = "8,4,2,1";
    /// <summary>The last query word matches as a prefix in names and keywords (typing <c>ser</c> finds <c>serde</c>).</summary>
    public const string Prefix = "true,true,false,false";
    public const string FacetBy = "categories,keywords,authors,license";
    public const string IncludeFields = "name,version,description,keywords,categories,downloads";

    /// <summary>Relevance groups hits into this many text-match buckets and orders each bucket by downloads.</summary>
    public const int RelevanceBuckets = 10;

    /// <summary>
    /// The search parameters, or null when a filter value cannot be written in Typesense's filter syntax at all
    /// (see <see cref="Quote"/>): no indexed value could then be matched, and the answer is empty.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>>? Parameters(SearchQuery query)
    {
        var filter = FilterBy(query);
        if (filter is null) return null;
        var parameters = new List<KeyValuePair<string, string>>
        {
            // The query's words, not its raw text: '-', '"' and '*' are operators in q (exclusion, phrase, wildcard).
            new("q", query.IsEmpty ? "*" : string.Join(' ', query.Words)),
            new("query_by", QueryBy),
            new("query_by_weights", QueryByWeights),
            new("prefix", Prefix),
            // Typo tolerance: up to two typos, one from three letters on (jsn → json), two from seven.
            new("num_typos", "2"),
            new("min_len_1typo", "3"),
            new("min_len_2typo", "7"),
            new("sort_by", SortBy(query)),
            new("facet_by", FacetBy),
            new("max_facet_values", SearchQuery.FacetValues.ToString(CultureInfo.InvariantCulture)),
            new("offset", query.Offset.ToString(CultureInfo.InvariantCulture)),
            new("limit", query.Limit.ToString(CultureInfo.InvariantCulture)),
            new("include_fields", IncludeFields),
            new("highlight_start_tag", "<mark>"),
            new("highlight_end_tag", "</mark>"),
            // The nested highlight object only; the deprecated array is not needed.
            new("enable_highlight_v1", "false"),
        };
        if (filter.Length > 0) parameters.Add(new("filter_by", filter));
        return parameters;
    }

    /// <summary>The filters joined by <c>&amp;&amp;</c>; "" when there are none; null when one cannot be expressed.</summary>
    public static string? FilterBy(SearchQuery query)
    {
        var clauses = new List<string>();
        (string Field, string? Value)[] facets =
            [("categories", query.Category), ("keywords", query.Keyword), ("authors", query.Author), ("license", query.License)];
        foreach (var (field, value) in facets)
        {
            if (value is null) continue;
            if (Quote(value) is not { } quoted) return null;
            clauses.Add($"{field}:={quoted}");
        }
        if (query.MinDownloads > 0) clauses.Add($"downloads:>={query.MinDownloads.ToString(CultureInfo.InvariantCulture)}");
        return string.Join(" && ", clauses);
    }

    /// <summary>
    /// A filter value as a backtick-quoted literal, inside which Typesense reads commas, brackets, parentheses,
    /// <c>&amp;&amp;</c>, <c>||</c> and <c>:</c> as text. A value holding a backtick cannot be written: Typesense's
    /// first pass over <c>filter_by</c> (src/filter.cpp) toggles the quoted span at every backtick, escaped or not,
    /// so the rest of the value would be read as filter syntax (the injection neodb#1821 reproduced) — null then.
    /// A trailing backslash would escape the closing backtick in the second pass; a space (trimmed by Typesense)
    /// keeps it apart.
    /// </summary>
    public static string? Quote(string value)
    {
        if (value.Contains('`', StringComparison.Ordinal)) return null;
        return value.EndsWith('\\') ? $"`{value} `" : $"`{value}`";
    }

    /// <summary>
    /// How many names a suggest asks for: Typesense matches the prefix per word, so names that only have a later word
    /// starting with it are dropped.
    /// </summary>
    public const int SuggestCandidates = 4 * SuggestQuery.Size;

    /// <summary>
    /// Search parameters of a name suggestion: the prefix's words against the name, the last as a prefix, no typos,
    /// most downloaded first.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> SuggestParameters(SuggestQuery query) =>
    [
        new("q", string.Join(' ', query.Prefix.Split('-', StringSplitOptions.RemoveEmptyEntries))),
        new("query_by", "name"),
        new("prefix", "true"),
        new("num_typos", "0"),
        new("sort_by", "_text_match:desc,downloads:desc"),
        new("per_page", SuggestCandidates.ToString(CultureInfo.InvariantCulture)),
        new("include_fields", "name,version,description,downloads"),
        new("highlight_fields", "none"),
    ];

    /// <summary>The candidates whose whole name starts with the prefix: the exact name first, then by downloads.</summary>
    public static SuggestResult ToSuggestions(SuggestQuery query, TypesenseSearchResponse response) => new(
        response.Hits.Select(h => h.Document)
            .Select(d => (Name: Text(d, "name") ?? Text(d, "id") ?? "", Version: Text(d, "version") ?? "", Description: Text(d, "description"),
                Downloads: d.ValueKind == JsonValueKind.Object && d.TryGetProperty("downloads", out var n) && n.TryGetInt64(out var v) ? v : 0))
            .Where(s => s.Name.StartsWith(query.Prefix, StringComparison.Ordinal))
            .OrderByDescending(s => s.Name == query.Prefix).ThenByDescending(s => s.Downloads).ThenBy(s => s.Name, StringComparer.Ordinal)
            .Take(SuggestQuery.Size)
            .Select(s => new Suggestion(s.Name, s.Version, s.Description)).ToList());

    public static string SortBy(SearchQuery query) => query.Sort switch
    {
        SearchSort.Downloads => "downloads:desc",
        SearchSort.Recent => "updated_at:desc",
        _ when query.IsEmpty => "downloads:desc",
        // An exact name first, then text match (in buckets, so popularity orders near-equal matches), then downloads.
        _ when ExactName(query) is { } name => $"_eval(id:={name}):desc,_text_match(buckets: {RelevanceBuckets}):desc,downloads:desc",
        _ => $"_text_match(buckets: {RelevanceBuckets}):desc,downloads:desc",
    };

    /// <summary>The normalised package name the query's words spell (<c>serde json</c> → <c>serde-json</c>), if they can.</summary>
    public static string? ExactName(SearchQuery query)
    {
        if (query.IsEmpty) return null;
        var name = string.Join('-', query.Words);
        return name.Length <= 64 && name[0] is >= 'a' and <= 'z' && name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-')
            ? name
            : null;
    }

    public static SearchResult ToResult(TypesenseSearchResponse response)
    {
        var hits = response.Hits.Select(Hit).ToList();
        List<FacetCount> Facet(string field) => response.FacetCounts
            .Where(f => f.FieldName == field)
            .SelectMany(f => f.Counts)
            .OrderByDescending(c => c.Count).ThenBy(c => c.Value, StringComparer.Ordinal)
            .Select(c => new FacetCount(c.Value, c.Count))
            .ToList();
        return new SearchResult(response.Found, hits,
            new SearchFacets(Facet("categories"), Facet("keywords"), Facet("authors"), Facet("license")));
    }

    private static SearchHit Hit(TypesenseHit hit)
    {
        var d = hit.Document;
        return new SearchHit(
            Text(d, "name") ?? Text(d, "id") ?? "",
            Text(d, "version") ?? "",
            Text(d, "description"),
            Texts(d, "keywords"),
            Texts(d, "categories"),
            d.ValueKind == JsonValueKind.Object && d.TryGetProperty("downloads", out var downloads) && downloads.TryGetInt64(out var n) ? n : 0,
            hit.TextMatch ?? 0,
            Highlights(hit));
    }

    /// <summary>
    /// Matched fields in <see cref="QueryBy"/> order, from the <c>highlight</c> object (one snippet per matched
    /// string, one per matched element of an array), else from the deprecated <c>highlights</c> array.
    /// </summary>
    public static IReadOnlyList<SearchHighlight> Highlights(TypesenseHit hit)
    {
        var found = new List<SearchHighlight>();
        if (hit.Highlight is { ValueKind: JsonValueKind.Object } highlight)
        {
            foreach (var field in QueryBy.Split(','))
            {
                if (!highlight.TryGetProperty(field, out var value)) continue;
                if (value.ValueKind == JsonValueKind.Object) Add(field, value);
                else if (value.ValueKind == JsonValueKind.Array)
                {
                    foreach (var element in value.EnumerateArray()) Add(field, element);
                }
            }
            return found;
        }
        foreach (var legacy in (hit.Highlights ?? []).OrderBy(h => Array.IndexOf(QueryBy.Split(','), h.Field)))
        {
            if (legacy.Snippet is { } snippet) found.Add(new SearchHighlight(legacy.Field, HighlightHtml.Escape(snippet)));
            foreach (var each in legacy.Snippets ?? []) found.Add(new SearchHighlight(legacy.Field, HighlightHtml.Escape(each)));
        }
        return found;

        void Add(string field, JsonElement value)
        {
            if (value.ValueKind == JsonValueKind.Object
                && value.TryGetProperty("matched_tokens", out var tokens) && tokens.ValueKind == JsonValueKind.Array && tokens.GetArrayLength() > 0
                && value.TryGetProperty("snippet", out var snippet) && snippet.GetString() is { } text)
                // Typesense marks the matched tokens but leaves the text as indexed: escaped here.
                found.Add(new SearchHighlight(field, HighlightHtml.Escape(text)));
        }
    }

    private static string? Text(JsonElement d, string field) =>
        d.ValueKind == JsonValueKind.Object && d.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static List<string> Texts(JsonElement d, string field) =>
        d.ValueKind == JsonValueKind.Object && d.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToList()
            : [];
}
