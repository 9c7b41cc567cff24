using Marketplace.Functions.Protection;
using Marketplace.Functions.Infrastructure;
using Marketplace.Search;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Search;

public static class SearchEndpoint
{
    public static IEndpointRouteBuilder MapSearch(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/search", Search).WithName("Search")
            .WithSummary("Full-text search with filters, sort, paging, facet counts and highlights.")
            .Produces<SearchResult>().WithProblems(400, 429, 503)
            .RateLimited(RateLimitedOperation.Search);
        app.MapGet("/v1/search/suggest", Suggest).WithName("SearchSuggest")
            .WithSummary("The 8 best package names for a prefix (exact name first, then most downloaded): for a search box, on every keystroke.")
            .Produces<SuggestResult>().WithProblems(400, 429, 503)
            .RateLimited(RateLimitedOperation.Search);
        return app;
    }

    /// <summary>The query string of a search, bound by <c>[AsParameters]</c> (every value is checked by <see cref="SearchQuery.Create"/>).</summary>
    public sealed record SearchParameters(
        [FromQuery(Name = "q")] string? Q,
        [FromQuery(Name = "category")] string? Category,
        [FromQuery(Name = "keyword")] string? Keyword,
        [FromQuery(Name = "author")] string? Author,
        [FromQuery(Name = "license")] string? License,
        [FromQuery(Name = "minDownloads")] string? MinDownloads,
        [FromQuery(Name = "sort")] string? Sort,
        [FromQuery(Name = "limit")] string? Limit,
        [FromQuery(Name = "offset")] string? Offset);

    public static async Task<Results<Ok<SearchResult>, ProblemHttpResult>> Search(
        [AsParameters] SearchParameters p, HttpContext http, IPackageSearch search, CancellationToken ct)
    {
        var query = SearchQuery.Create(p.Q, p.Category, p.Keyword, p.Author, p.License, p.MinDownloads, p.Sort, p.Limit, p.Offset);
        if (!query.TryGet(out var searchQuery, out var error)) return error.ToProblem();
        SearchResult result;
        try
        {
            result = await search.SearchAsync(searchQuery, ct);
        }
        catch (SearchUnavailableException e)
        {
            // The search index is down or refused the query: the registry itself is fine, so not a 500.
            http.RequestServices.GetRequiredService<ILogger<SearchResult>>().LogWarning(e, "The search index could not answer");
            http.Response.Headers.RetryAfter = "5";
            return DomainError.Unavailable("Search is unavailable for a moment; retry shortly.").ToProblem();
        }
        http.Response.Headers.CacheControl = "public, max-age=5";
        return TypedResults.Ok(result);
    }

    public static async Task<Results<Ok<SuggestResult>, ProblemHttpResult>> Suggest(
        string? q, HttpContext http, IPackageSearch search, CancellationToken ct)
    {
        var query = SuggestQuery.Create(q);
        if (!query.TryGet(out var searchQuery, out var error)) return error.ToProblem();
        SuggestResult result;
        try
        {
            result = await search.SuggestAsync(searchQuery, ct);
        }
        catch (SearchUnavailableException e)
        {
            http.RequestServices.GetRequiredService<ILogger<SuggestResult>>().LogWarning(e, "The search index could not answer");
            http.Response.Headers.RetryAfter = "5";
            return DomainError.Unavailable("Search is unavailable for a moment; retry shortly.").ToProblem();
        }
        http.Response.Headers.CacheControl = "public, max-age=5";
        return TypedResults.Ok(result);
    }
}
