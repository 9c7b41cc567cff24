using System.Text.Json;
using Marketplace.Search;

namespace Marketplace.Functions.Search.Typesense;

/// <summary>One package in the index: the <see cref="SearchEntry.Shown"/> version of its entry.</summary>
public sealed record TypesenseDocument(
    string Id,
    string Name,
    string DisplayName,
    string Version,
    string? Description,
    IReadOnlyList<string> Keywords,
    IReadOnlyList<string> Categories,
    IReadOnlyList<string> Authors,
    string? License,
    long Downloads,
    long UpdatedAt);

/// <summary>The packages collection: fields, facets and tokenisation.</summary>
public static class TypesenseSchema
{
    /// <summary>
    /// <c>name</c> is split on '-' and '_' (token separators) so <c>serde-json</c> is the words <c>serde</c> and
    /// <c>json</c>, as the query's words are; the document id is the normalised name, which the relevance sort uses
    /// for an exact-name match. Facet fields are indexed verbatim, so their filters are exact. <c>downloads</c> is
    /// the default sorting field: Typesense uses it to rank equally good prefix and typo candidates.
    /// </summary>
    public static TypesenseCollectionSchema For(string collection) => new(collection,
        [
            new("name", "string"),
            new("display_name", "string", Index: false, Optional: true),
            new("version", "string", Index: false, Optional: true),
            new("description", "string", Optional: true),
            new("keywords", "string[]", Facet: true, Optional: true),
            new("categories", "string[]", Facet: true, Optional: true),
            new("authors", "string[]", Facet: true, Optional: true),
            new("license", "string", Facet: true, Optional: true),
            new("downloads", "int64", Sort: true),
            new("updated_at", "int64", Sort: true),
        ],
        DefaultSortingField: "downloads",
        TokenSeparators: ["-", "_"]);

    /// <summary>The document of a visible entry (the caller deletes entries that are not).</summary>
    public static TypesenseDocument Document(string name, SearchEntry entry)
    {
        var shown = entry.Shown ?? throw new ArgumentException($"{name} has no version to show.", nameof(entry));
        return new TypesenseDocument(name, name, entry.DisplayName.Length > 0 ? entry.DisplayName : name, shown.Version,
            shown.Description, shown.Keywords, shown.Categories, shown.Authors, shown.License,
            entry.Downloads, entry.UpdatedAt.ToUnixTimeSeconds());
    }

    /// <summary>One JSONL line: JSON escapes line breaks inside strings, so a document is always one line.</summary>
    public static string Line(TypesenseDocument document) => JsonSerializer.Serialize(document, TypesenseClient.Json);
}
