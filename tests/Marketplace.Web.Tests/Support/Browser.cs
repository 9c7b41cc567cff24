using Microsoft.Playwright;

namespace Marketplace.Web.Tests.Support;

/// <summary>
/// Debian's chromium (<c>/usr/bin/chromium</c>, installed by <c>infra/test</c>) driven by Playwright; Playwright
/// never downloads a browser of its own. <c>MARKETPLACE_CHROMIUM</c> names another binary.
/// </summary>
public static class Browser
{
    public static string Executable => Environment.GetEnvironmentVariable("MARKETPLACE_CHROMIUM") ?? "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        if (!File.Exists(Executable))
            throw new InvalidOperationException($"No chromium at {Executable}: infra/test installs it (apt-get install chromium).");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            // Root in a container, a closed network: no sandbox, and none of the browser's own phoning home.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        return (playwright, browser);
    }

    /// <summary>Where screenshots go: <c>MARKETPLACE_TEST_ARTIFACTS</c>, else a TestResults folder beside the test binaries (never the repository).</summary>
    public static string ArtifactsDirectory
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable("MARKETPLACE_TEST_ARTIFACTS")
                ?? Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }
}

/// <summary>
/// One browser page that records what must never happen: a dialog (an injected <c>alert</c>), an uncaught script
/// error, a console error (a CSP violation is one) or a request to another origin that is not a README picture.
/// </summary>
public sealed class WatchedPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;

    public IPage Page { get; }
    public List<string> Problems { get; } = [];

    private WatchedPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, m) => { if (m.Type == "error") Problems.Add($"console error on {page.Url}: {m.Text}"); };
        page.PageError += (_, e) => Problems.Add($"script error on {page.Url}: {e}");
        page.Dialog += async (_, d) => { Problems.Add($"dialog on {page.Url}: {d.Message}"); await d.DismissAsync(); };
    }

    public static async Task<WatchedPage> OpenAsync(IBrowser browser, Uri baseUrl, int width = 1280, int height = 900, ColorScheme scheme = ColorScheme.Light)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ColorScheme = scheme,
        });
        // README pictures come from https origins; the network is closed, so answer them here with a tiny PNG.
        await context.RouteAsync("https://**/*", route => route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = "image/png", BodyBytes = Png }));
        return new WatchedPage(context, await context.NewPageAsync());
    }

    public async Task<IResponse> GoAsync(string path)
    {
        var response = await Page.GotoAsync(path, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        Assert.NotNull(response);
        return response!;
    }

    public async Task ScreenshotAsync(string name, bool fullPage = true) =>
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.ArtifactsDirectory, name + ".png"), FullPage = fullPage });

    /// <summary>The page is no wider than its viewport: nothing scrolls sideways.</summary>
    public async Task AssertNoSidewaysScrollAsync()
    {
        var (scroll, client) = (await Page.EvaluateAsync<int>("document.documentElement.scrollWidth"), await Page.EvaluateAsync<int>("document.documentElement.clientWidth"));
        Assert.True(scroll <= client, $"{Page.Url} scrolls sideways at {client} px: scrollWidth {scroll}");
    }

    public void AssertNoProblems() => Assert.True(Problems.Count == 0, string.Join("\n", Problems));

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();

    // 1×1 transparent PNG.
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=");
}
