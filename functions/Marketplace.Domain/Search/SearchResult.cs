namespace Marketplace.Search;

/// <summary>The answer of <c>GET /v1/search</c> (API.md), whichever adapter produced it.</summary>
public sealed record SearchResult(long Total, IReadOnlyList<SearchHit> Hits, SearchFacets Facets);

/// <summary>
/// One package found. <see cref="Highlights"/> holds the matched fields with the matched words wrapped in
/// <c>&lt;mark&gt;</c> (field = <c>name</c>, <c>description</c>, <c>keywords</c> or <c>authors</c>).
/// </summary>
public sealed record SearchHit(
    string Name,
    string Version,
    string? Description,
    IReadOnlyList<string> Keywords,
    IReadOnlyList<string> Categories,
    long Downloads,
    double Score,
    IReadOnlyList<SearchHighlight> Highlights);

public sealed record SearchHighlight(string Field, string Snippet);

/// <summary>Counts over the whole filtered result (not just the page), the most frequent values first.</summary>
public sealed record SearchFacets(
    IReadOnlyList<FacetCount> Category,
    IReadOnlyList<FacetCount> Keyword,
    IReadOnlyList<FacetCount> Author,
    IReadOnlyList<FacetCount> License)
{
    public static SearchFacets None { get; } = new([], [], [], []);
}

public sealed record FacetCount(string Value, long Count);
