using System.Globalization;
using Marketplace.Functions.Search;
using Marketplace.Search;

namespace Marketplace.Functions.Web;

/// <summary>
/// <c>/search?q=&amp;category=&amp;keyword=&amp;author=&amp;license=&amp;sort=&amp;page=</c>: results with safe highlights,
/// facets as filter links with counts, sort links, pagination and an empty state that says what to try.
/// </summary>
public static class SearchPage
{
    public const int PageSize = 20;

    private sealed record Filters(string? Q, string? Category, string? Keyword, string? Author, string? License, string? Sort)
    {
        public string Url(int page = 1, string? category = "", string? keyword = "", string? author = "", string? license = "", string? sort = "") =>
            "/search" + Html.Query(("q", Q),
                ("category", category == "" ? Category : category), ("keyword", keyword == "" ? Keyword : keyword),
                ("author", author == "" ? Author : author), ("license", license == "" ? License : license),
                ("sort", sort == "" ? Sort : sort), ("page", page > 1 ? page.ToString(CultureInfo.InvariantCulture) : null));
    }

    public static async Task<IResult> Get(string? q, string? category, string? keyword, string? author, string? license, string? sort, string? page,
        IPackageSearch search, WebAssets assets, ILogger<SearchResult> logger, CancellationToken ct)
    {
        var f = new Filters(q, category, keyword, author, license, sort is "relevance" or "" ? null : sort);
        var number = 1;
        if (page is not null
            && (!int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number < 1
                || (number - 1) * PageSize > SearchQuery.MaxOffset))
            return Layout.Problem(assets, 400, "Bad search", $"page is a whole number from 1 to {SearchQuery.MaxOffset / PageSize + 1}.");
        var query = SearchQuery.Create(q, category, keyword, author, license, null, sort is "" ? null : sort,
            PageSize.ToString(CultureInfo.InvariantCulture), ((number - 1) * PageSize).ToString(CultureInfo.InvariantCulture));
        if (!query.TryGet(out var searchQuery, out var error))
            return Layout.Problem(assets, 400, "Bad search", error.Detail);
        SearchResult result;
        try
        {
            result = await search.SearchAsync(searchQuery, ct);
        }
        catch (SearchUnavailableException e)
        {
            logger.LogWarning(e, "The search index could not answer a page");
            return Layout.Problem(assets, 503, "Search is unavailable", "The search index could not answer; try again in a moment.");
        }

        var title = string.IsNullOrWhiteSpace(q) ? "All packages" : $"Search: {q}";
        return Layout.Page(assets, title, w =>
        {
            w.Add($"""<h1>{title}</h1><p class="meta" role="status">{Html.Count(result.Total)} {(result.Total == 1 ? "package" : "packages")}""");
            foreach (var (label, value, clear) in new[]
            {
                ("category", category, f.Url(category: null)), ("keyword", keyword, f.Url(keyword: null)),
                ("author", author, f.Url(author: null)), ("license", license, f.Url(license: null)),
            })
            {
                if (value is not null)
                    w.Add($""" · {label} <strong>{value}</strong> <a class="clear" href="{clear}" aria-label="Remove the {label} filter">×</a>""");
            }
            w.Add($"""</p><nav class="sort" aria-label="Sort"><span>Sort by</span> """);
            foreach (var (value, label) in new[] { ((string?)null, "relevance"), ("downloads", "downloads"), ("recent", "recently updated") })
            {
                if (f.Sort == value) w.Add($"""<a aria-current="true" href="{f.Url(sort: value)}">{label}</a> """);
                else w.Add($"""<a href="{f.Url(sort: value)}">{label}</a> """);
            }
            w.Add($"""</nav><div class="results-layout"><div class="results">""");
            if (result.Hits.Count == 0)
            {
                w.Add($"""<div class="empty"><h2>No packages match</h2>""" +
                    $"""<p>Try fewer or shorter words, check the spelling, or remove a filter.</p>""" +
                    $"""<p><a href="/search">Browse every package</a></p></div>""");
            }
            else
            {
                w.Add($"""<ol class="hits">""");
                foreach (var hit in result.Hits) Hit(w, hit);
                w.Add($"</ol>");
                Pagination(w, f, number, result.Total);
            }
            w.Add($"""</div><aside class="facets" aria-label="Filters">""");
            Facet(w, "Categories", result.Facets.Category, v => f.Url(category: v), category);
            Facet(w, "Keywords", result.Facets.Keyword, v => f.Url(keyword: v), keyword);
            Facet(w, "Authors", result.Facets.Author, v => f.Url(author: v), author);
            Facet(w, "Licenses", result.Facets.License, v => f.Url(license: v), license);
            w.Add($"</aside></div>");
        }, query: q);
    }

    private static void Hit(HtmlWriter w, SearchHit hit)
    {
        var name = hit.Highlights.FirstOrDefault(h => h.Field == "name") is { } n ? Snippets.Render(n.Snippet) : new Raw(Html.Encode(hit.Name));
        var description = hit.Highlights.FirstOrDefault(h => h.Field == "description") is { } d
            ? Snippets.Render(d.Snippet)
            : new Raw(Html.Encode(hit.Description));
        w.Add($"""<li><h2><a href="/packages/{Html.Segment(hit.Name)}">{name}</a> <span class="version">{hit.Version}</span></h2>""" +
            $"""<p>{description}</p>""");
        var others = hit.Highlights.Where(h => h.Field is not ("name" or "description")).ToList();
        foreach (var h in others) w.Add($"""<p class="meta">{h.Field}: {Snippets.Render(h.Snippet)}</p>""");
        w.Add($"""<p class="meta">{Html.Count(hit.Downloads)} downloads""");
        foreach (var k in hit.Keywords.Take(5)) w.Add($""" · <a href="/search?keyword={Uri.EscapeDataString(k)}">#{k}</a>""");
        w.Add($"</p></li>");
    }

    private static void Facet(HtmlWriter w, string title, IReadOnlyList<FacetCount> counts, Func<string, string> url, string? selected)
    {
        if (counts.Count == 0) return;
        w.Add($"<section><h2>{title}</h2><ul>");
        foreach (var c in counts)
        {
            if (string.Equals(c.Value, selected, StringComparison.OrdinalIgnoreCase))
                w.Add($"""<li><a aria-current="true" href="{url(c.Value)}">{c.Value}</a> <span class="count">{Html.Count(c.Count)}</span></li>""");
            else
                w.Add($"""<li><a href="{url(c.Value)}">{c.Value}</a> <span class="count">{Html.Count(c.Count)}</span></li>""");
        }
        w.Add($"</ul></section>");
    }

    private static void Pagination(HtmlWriter w, Filters f, int page, long total)
    {
        var pages = (int)Math.Min((total + PageSize - 1) / PageSize, SearchQuery.MaxOffset / PageSize + 1);
        if (pages <= 1) return;
        w.Add($"""<nav class="pages" aria-label="Pages">""");
        if (page > 1) w.Add($"""<a rel="prev" href="{f.Url(page - 1)}">Previous</a> """);
        w.Add($"<span>Page {page} of {pages}</span>");
        if (page < pages) w.Add($""" <a rel="next" href="{f.Url(page + 1)}">Next</a>""");
        w.Add($"</nav>");
    }
}
