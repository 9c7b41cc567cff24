namespace Marketplace.Functions.Web;

/// <summary>The frame of every page: head (own stylesheet and script by hashed URL), banner with search, main, footer.</summary>
public static class Layout
{
    public static HtmlPage Page(WebAssets assets, string title, Action<HtmlWriter> main, int status = StatusCodes.Status200OK,
        string? query = null, string? description = null)
    {
        var w = new HtmlWriter();
        w.Add($"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark">
            <title>{title} · Marketplace</title>
            <meta name="description" content="{description ?? "A registry of signed packages with a public transparency log."}">
            <link rel="icon" href="{assets.Icon.Url}" type="image/svg+xml">
            <link rel="stylesheet" href="{assets.Css.Url}">
            <script src="{assets.Script.Url}" defer></script>
            </head><body>
            <a class="skip" href="#main">Skip to content</a>
            <header class="banner"><div class="wrap">
            <a class="brand" href="/">Marketplace</a>
            <form class="search" role="search" action="/search" method="get">
            <label class="visually-hidden" for="site-q">Search packages</label>
            <input id="site-q" type="search" name="q" value="{query}" placeholder="Search packages" autocomplete="off"
            """);
        // One line of HTML in two calls, so its source lines stay short.
        w.Add($"""
             list="site-q-suggestions" maxlength="256">
            <datalist id="site-q-suggestions"></datalist>
            <button type="submit">Search</button>
            </form>
            <nav aria-label="Site"><ul><li><a href="/search">Browse</a></li><li><a href="/log">Log</a></li><li><a href="/docs">API</a></li></ul></nav>
            </div></header>
            <main id="main" class="wrap" tabindex="-1">
            """);
        main(w);
        w.Add($"""
            </main>
            <footer class="wrap"><p>Every version is signed by its owner and logged in an append-only <a href="/log">transparency log</a>.
            """);
        w.Add($"""
             <a href="/docs">HTTP API</a> · <a href="/.well-known/marketplace">registry facts</a></p></footer>
            </body></html>
            """);
        return HtmlPage.From(w.ToString(), status);
    }

    public static HtmlPage NotFound(WebAssets assets, string what) => Page(assets, "Not found", w => w.Add($"""
        <h1>Not found</h1>
        <p>{what}</p>
        <p><a href="/">Go to the home page</a> or <a href="/search">browse all packages</a>.</p>
        """), StatusCodes.Status404NotFound);

    public static HtmlPage Problem(WebAssets assets, int status, string title, string detail) => Page(assets, title, w => w.Add($"""
        <h1>{title}</h1>
        <p>{detail}</p>
        """), status);
}
