using Marketplace.Functions.Packages.Reading;
using Microsoft.Extensions.Caching.Memory;

namespace Marketplace.Functions.Web;

/// <summary>
/// The registry's web pages: server-rendered HTML from the same read models and services as the API, beside it.
/// Routes: <c>/</c>, <c>/search</c>, <c>/packages/{name}</c>, <c>/packages/{name}/{version}</c>,
/// <c>/packages/{name}/history</c>, <c>/keys/{keyId}</c>, <c>/log</c>, <c>/docs</c>, and <c>/assets/…</c> for the
/// pages' own hashed stylesheet, script and icon. A browser asking for a page that does not exist gets an HTML 404;
/// API routes keep problem+json.
/// </summary>
public static class WebPages
{
    /// <summary>Paths that belong to the API (and the local blob routes): never answered with an HTML page.</summary>
    private static readonly string[] ApiPrefixes = ["/v1", "/health", "/.well-known", "/metrics", "/openapi", "/internal", "/projections", "/assets"];

    public static IServiceCollection AddWebPages(this IServiceCollection services)
    {
        services.AddSingleton<WebAssets>();
        services.AddSingleton<ReadmeRenderer>();
        services.AddSingleton<PageCache>();
        return services;
    }

    public static WebApplication MapWebPages(this WebApplication app)
    {
        // API requests pass straight through (no state machine, no callback): this wraps pages only.
        app.Use((context, next) => IsApi(context.Request.Path) ? next(context) : Page(context, next));

        app.MapGet("/assets/{file}", (string file, WebAssets assets, HttpContext http) =>
        {
            if (assets.Find("/assets/" + file) is not { } asset) return Results.NotFound();
            http.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
            return Results.Bytes(asset.Body, asset.ContentType);
        }).ExcludeFromDescription();

        app.MapGet("/", HomePage.Get).ExcludeFromDescription();
        app.MapGet("/search", SearchPage.Get).ExcludeFromDescription();
        app.MapGet("/packages/{name}", PackagePages.GetPackage).ExcludeFromDescription();
        app.MapGet("/packages/{name}/history", HistoryPage.Get).ExcludeFromDescription();
        app.MapGet("/packages/{name}/{version}", PackagePages.GetVersion).ExcludeFromDescription();
        app.MapGet("/keys/{keyId}", KeyPage.Get).ExcludeFromDescription();
        app.MapGet("/log", LogPage.Get).ExcludeFromDescription();
        app.MapGet("/docs", DocsPage.Get).ExcludeFromDescription();
        return app;
    }

    private static bool WantsHtml(HttpRequest request) =>
        request.Headers.Accept.Any(a => a is not null && a.Contains("text/html", StringComparison.OrdinalIgnoreCase));

    private static async Task Page(HttpContext context, RequestDelegate next)
    {
        // How long the server spent on the page (read models, rendering) until the answer starts: what the
        // benchmark's pages phase reports, apart from the network and the client.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        context.Response.OnStarting(() =>
        {
            context.Response.Headers["Server-Timing"] = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"page;dur={System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.###}");
            return Task.CompletedTask;
        });
        await next(context);
        if (context.Response.StatusCode == StatusCodes.Status404NotFound && !context.Response.HasStarted
            && context.Response.ContentLength is null && context.Response.ContentType is null
            && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            && WantsHtml(context.Request))
        {
            await Layout.NotFound(context.RequestServices.GetRequiredService<WebAssets>(),
                "There is no page at this address.").ExecuteAsync(context);
        }
    }

    private static bool IsApi(PathString path) =>
        ApiPrefixes.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// Rendered pages kept for <see cref="ReadOptions.CacheFor"/> (as the API keeps its JSON): a popular package page is
/// rendered once per window, not per request. Zero turns it off.
/// </summary>
public sealed class PageCache(IMemoryCache cache, ReadOptions options)
{
    public async Task<HtmlPage> GetOrRender(string key, Func<Task<HtmlPage>> render)
    {
        if (options.CacheFor > TimeSpan.Zero && cache.TryGetValue("page:" + key, out HtmlPage? hit) && hit is not null)
            return hit;
        var page = await render();
        if (options.CacheFor > TimeSpan.Zero && page.Status == StatusCodes.Status200OK)
            cache.Set("page:" + key, page,
                new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = options.CacheFor, Size = page.Body.Length });
        return page;
    }
}
