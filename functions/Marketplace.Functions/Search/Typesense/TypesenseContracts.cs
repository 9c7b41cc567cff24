using System.Text.Json;

namespace Marketplace.Functions.Search.Typesense;

// What TypesenseClient sends and reads: the request and answer shapes of Typesense's REST API it uses.

public sealed record TypesenseHealth(bool Ok, string? ResourceError);

/// <summary>One line of an import answer: <c>{"success":true}</c> or <c>{"success":false,"error":…,"document":…}</c>.</summary>
public sealed record TypesenseImportResult(bool Success, string? Error, string? Document);

public sealed record TypesenseField(string Name, string Type, bool? Facet = null, bool? Optional = null, bool? Index = null, bool? Sort = null);

public sealed record TypesenseCollectionSchema(
    string Name, IReadOnlyList<TypesenseField> Fields, string? DefaultSortingField, IReadOnlyList<string>? TokenSeparators);

public sealed record TypesenseCollection(string Name, long NumDocuments);

/// <summary>The parts of a search answer the adapter reads (typesense.org/docs/30.1/api/search.html).</summary>
public sealed class TypesenseSearchResponse
{
    public long Found { get; set; }
    public List<TypesenseHit> Hits { get; set; } = [];
    public List<TypesenseFacetCounts> FacetCounts { get; set; } = [];
}

public sealed class TypesenseHit
{
    public JsonElement Document { get; set; }

    /// <summary>
    /// The current highlight form: an object shaped like the document, <c>{snippet, matched_tokens}</c> per string and
    /// per array element.
    /// </summary>
    public JsonElement? Highlight { get; set; }

    /// <summary>The deprecated form (<c>enable_highlight_v1</c>): <c>[{field, snippet | snippets + indices, matched_tokens}]</c>.</summary>
    public List<TypesenseLegacyHighlight>? Highlights { get; set; }

    public double? TextMatch { get; set; }
}

public sealed class TypesenseLegacyHighlight
{
    public string Field { get; set; } = "";
    public string? Snippet { get; set; }
    public List<string>? Snippets { get; set; }
}

public sealed class TypesenseFacetCounts
{
    public string FieldName { get; set; } = "";
    public List<TypesenseFacetCount> Counts { get; set; } = [];
}

public sealed class TypesenseFacetCount
{
    public string Value { get; set; } = "";
    public long Count { get; set; }
}
