using Marketplace.Search;
using Microsoft.Extensions.Options;

namespace Marketplace.Functions.Search.Typesense;

/// <summary>Search through the Typesense alias, fed by <see cref="TypesenseFeed"/>.</summary>
public sealed class TypesenseSearch(TypesenseClient client, IOptions<TypesenseOptions> options) : IPackageSearch
{
    private static readonly SearchResult Nothing = new(0, [], SearchFacets.None);

    public string ProgressionName => TypesenseFeed.ProgressionName;

    public async Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken ct) =>
        TypesenseQuery.Parameters(query) is { } parameters
            ? TypesenseQuery.ToResult(await client.SearchAsync(options.Value.Collection, parameters, ct))
            : Nothing;

    public async Task<SuggestResult> SuggestAsync(SuggestQuery query, CancellationToken ct) =>
        query.Prefix.Any(char.IsLetterOrDigit)
            ? TypesenseQuery.ToSuggestions(query, await client.SearchAsync(options.Value.Collection, TypesenseQuery.SuggestParameters(query), ct))
            : new SuggestResult([]);
}
