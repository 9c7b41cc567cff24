using Marketplace.Functions.Search;
using Marketplace.Functions.Transparency;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Packages;
using Marketplace.Search;
using Marten;

namespace Marketplace.Functions.Web;

/// <summary><c>/</c>: the search box, registry figures, recently published and most downloaded packages.</summary>
public static class HomePage
{
    private const int Listed = 8;

    public static async Task<IResult> Get(
        IDocumentStore store, IPackageSearch search, TransparencyLog log, WebAssets assets, PageCache cache, CancellationToken ct) =>
        await cache.GetOrRender("/", async () =>
        {
            await using var session = store.QuerySession();
            var packages = await session.Query<PackageDocument>().CountAsync(ct);
            var versions = await session.Query<VersionDocument>().CountAsync(ct);
            var downloads = (await session.QueryAsync<long>(
                $"select coalesce(sum(count), 0)::bigint from {DownloadCountsProjection.TableIn(store.Options.DatabaseSchemaName)}", ct))[0];
            var logSize = await log.SizeAsync(session, ct);
            var recent = await TrySearch(search, SearchSort.Recent, ct);
            var popular = await TrySearch(search, SearchSort.Downloads, ct);

            return Layout.Page(assets, "Signed packages you can verify", w =>
            {
                w.Add($"""
                    <section class="hero" aria-labelledby="hero-title">
                    <h1 id="hero-title">Find a package you can trust</h1>
                    <p>Every version here is signed by its owner and recorded in a public, append-only transparency log.</p>
                    <form class="search big" role="search" action="/search" method="get">
                    <label for="home-q">Search packages</label>
                    <div class="row"><input id="home-q" type="search" name="q" placeholder="name, keyword or description" autocomplete="off"
                    """);
                // One line of HTML in two calls, so its source lines stay short.
                w.Add($"""
                     list="home-q-suggestions" maxlength="256">
                    <datalist id="home-q-suggestions"></datalist>
                    <button type="submit">Search</button></div>
                    </form>
                    </section>
                    <section aria-labelledby="figures-title"><h2 id="figures-title" class="visually-hidden">Registry figures</h2>
                    <dl class="figures">
                    <div><dt>Packages</dt><dd>{Html.Count(packages)}</dd></div>
                    <div><dt>Versions</dt><dd>{Html.Count(versions)}</dd></div>
                    <div><dt>Downloads</dt><dd>{Html.Count(downloads)}</dd></div>
                    <div><dt>Log entries</dt><dd><a href="/log">{Html.Count(logSize)}</a></dd></div>
                    </dl></section>
                    <div class="columns">
                    """);
                Listing(w, "recent-title", "Recently published", "/search?sort=recent", recent);
                Listing(w, "popular-title", "Most downloaded", "/search?sort=downloads", popular);
                w.Add($"</div>");
            });
        });

    private static async Task<IReadOnlyList<SearchHit>?> TrySearch(IPackageSearch search, SearchSort sort, CancellationToken ct)
    {
        try
        {
            return (await search.SearchAsync(SearchQuery.Everything with { Sort = sort, Limit = Listed }, ct)).Hits;
        }
        catch (SearchUnavailableException)
        {
            return null;
        }
    }

    private static void Listing(HtmlWriter w, string id, string title, string more, IReadOnlyList<SearchHit>? hits)
    {
        w.Add($"""<section aria-labelledby="{id}"><h2 id="{id}">{title}</h2>""");
        if (hits is null) w.Add($"<p>Search is unavailable for a moment.</p>");
        else if (hits.Count == 0) w.Add($"<p>No packages yet. Publish one with <code>mkt publish</code>.</p>");
        else
        {
            w.Add($"""<ul class="cards">""");
            foreach (var h in hits)
                w.Add($"""<li><a href="/packages/{Html.Segment(h.Name)}">{h.Name}</a> <span class="version">{h.Version}</span>""" +
                    $"""<p>{h.Description}</p><p class="meta">{Html.Count(h.Downloads)} downloads</p></li>""");
            w.Add($"""</ul><p><a href="{more}">More</a></p>""");
        }
        w.Add($"</section>");
    }
}
