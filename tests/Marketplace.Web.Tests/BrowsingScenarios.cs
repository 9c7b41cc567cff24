using System.Net;
using Marketplace.Web.Tests.Support;
using Microsoft.Playwright;

namespace Marketplace.Web.Tests;

/// <summary>The pages in Debian's chromium, as a visitor uses them; every page is also watched for dialogs, script and console errors.</summary>
[Collection("browser")]
public sealed class BrowsingScenarios(RegistryWithPackages registry)
{
    [Fact]
    public async Task a_visitor_goes_from_home_to_search_facet_package_version_history_and_log()
    {
        await using var tab = await registry.OpenAsync();
        var page = tab.Page;

        await tab.GoAsync("/");
        Assert.Equal(1, await page.Locator("main input[type=search][name=q]").CountAsync());
        Assert.Contains("Packages", await page.Locator(".figures").InnerTextAsync());
        Assert.True(await page.Locator("section:has(h2:text('Recently published')) a[href='/packages/left-pad']").CountAsync() > 0);
        await tab.ScreenshotAsync("home");

        await page.FillAsync("#home-q", "pad");
        await page.PressAsync("#home-q", "Enter");
        await page.WaitForURLAsync("**/search?q=pad");
        var hits = page.Locator("ol.hits > li");
        Assert.True(await hits.CountAsync() >= 2, "pad finds left-pad and pad-app");
        Assert.True(await page.Locator("ol.hits mark").CountAsync() > 0, "the matched word is highlighted");
        await tab.ScreenshotAsync("search");

        await page.Locator("aside.facets a", new PageLocatorOptions { HasText = "apps" }).ClickAsync();
        await page.WaitForURLAsync("**category=apps**");
        Assert.Equal(1, await hits.CountAsync());
        Assert.Equal("pad-app", await hits.Locator("h2 a").InnerTextAsync());

        await page.GotoAsync("/search?q=pad");
        await hits.Locator("h2 a", new LocatorLocatorOptions { HasText = "left-pad" }).ClickAsync();
        await page.WaitForURLAsync("**/packages/left-pad");
        Assert.Equal("left-pad 1.1.0", (await page.Locator(".package-head h1").InnerTextAsync()).Trim());
        Assert.Equal("mkt install left-pad@^1.1.0", await page.Locator("#install-command").InnerTextAsync());
        Assert.Contains("Pads a string on the left.", await page.Locator(".markdown").InnerTextAsync());
        Assert.Equal("language-csharp", await page.Locator(".markdown pre code").GetAttributeAsync("class"));
        Assert.Equal("lazy", await page.Locator(".markdown img").GetAttributeAsync("loading"));
        Assert.Equal(3, await page.Locator("table.versions tbody tr").CountAsync());
        Assert.Equal(3, await page.Locator(".trust li.ok").CountAsync());
        Assert.Equal(0, await page.Locator(".trust li.bad").CountAsync());
        Assert.Equal("nofollow noopener", await page.Locator("a[href='https://example.com/repo']").GetAttributeAsync("rel"));
        Assert.Contains("3 downloads in the last 90 days", await page.Locator("svg.chart title#chart-title").TextContentAsync());
        Assert.True(await page.Locator(".copy").IsVisibleAsync(), "the copy button shows when script runs");
        await tab.ScreenshotAsync("package");

        await page.Locator("table.versions a", new PageLocatorOptions { HasText = "1.0.0" }).ClickAsync();
        await page.WaitForURLAsync("**/packages/left-pad/1.0.0");
        Assert.Matches("^[0-9a-f]{64}$", await page.Locator("code.hash").InnerTextAsync());
        Assert.Contains("application/vnd.marketplace.publish.v1+json", await page.Locator("pre.envelope").TextContentAsync());
        Assert.Equal("/v1/packages/left-pad/1.0.0/download", await page.Locator("a.button").GetAttributeAsync("href"));
        Assert.Contains("/v1/log/proof/inclusion?index=", await page.Locator(".trust a[href*='inclusion']").GetAttributeAsync("href"));
        await tab.ScreenshotAsync("version");

        await page.Locator("nav.tabs a", new PageLocatorOptions { HasText = "History" }).ClickAsync();
        await page.WaitForURLAsync("**/packages/left-pad/history");
        var history = await page.Locator("ol.history").InnerTextAsync();
        Assert.Contains("Yanked 2.0.0: breaks padding of emoji", history);
        Assert.Contains("Owner added", history);
        Assert.Equal(5, await page.Locator("ol.history li .log a").CountAsync()); // owner, 3 publishes, a yank: each proven
        await tab.ScreenshotAsync("history");

        await page.Locator("nav[aria-label=Site] a", new PageLocatorOptions { HasText = "Log" }).ClickAsync();
        await page.WaitForURLAsync("**/log");
        Assert.True(await page.Locator("table.log tbody tr").CountAsync() > 0);
        Assert.Contains("dev.marketplace.package.published", await page.Locator("table.log").InnerTextAsync());
        await tab.ScreenshotAsync("log");

        await tab.GoAsync("/packages/left-pad");
        await page.Locator(".owners a.key").First.ClickAsync();
        await page.WaitForURLAsync("**/keys/**");
        Assert.Equal(["left-pad"], await page.Locator("section:has(#owns-title) li a").AllInnerTextsAsync());
        Assert.Equal(3, await page.Locator("section:has(#signed-title) li").CountAsync());
        await tab.ScreenshotAsync("key");

        await tab.GoAsync("/docs");
        Assert.True(await page.Locator("section.operation").CountAsync() > 10);
        Assert.True(await page.Locator("#get-v1-packages-name").CountAsync() == 1);

        tab.AssertNoProblems();
    }

    [Fact]
    public async Task a_hostile_readme_shows_its_text_and_runs_nothing()
    {
        await using var tab = await registry.OpenAsync();
        var page = tab.Page;
        var requests = new List<string>();
        page.Request += (_, r) => requests.Add(r.Url);
        await tab.GoAsync("/packages/evil-readme");

        var readme = page.Locator(".markdown");
        var text = await readme.InnerTextAsync();
        Assert.Contains("Plain text survives.", text);
        Assert.Contains("a javascript link", text);
        Assert.Contains("styled paragraph", text);
        Assert.DoesNotContain("alert('script')", text); // a script's body is dropped, not shown
        Assert.DoesNotContain("display: none", text);
        Assert.Equal(0, await readme.Locator("script, style, iframe, svg, form, input, [style], [onclick], [onerror], [onload]").CountAsync());
        Assert.Equal(0, await readme.Locator("img").CountAsync()); // neither src=x nor the http tracker
        // The description is text: its markup shows as characters.
        Assert.Contains("<b>bold</b> <script>alert('description')</script>", await page.Locator("p.description").InnerTextAsync());
        Assert.True(await page.Locator("body").IsVisibleAsync(), "the README's <style> did not hide the page");

        foreach (var link in await readme.Locator("a").AllAsync())
        {
            var href = await link.GetAttributeAsync("href");
            Assert.False(href is not null && (href.StartsWith("javascript:", StringComparison.OrdinalIgnoreCase) || href.StartsWith("data:", StringComparison.OrdinalIgnoreCase)), $"unsafe href {href}");
            await link.ClickAsync();
        }
        await page.Locator("#styled, p:has-text('styled paragraph')").First.ClickAsync();
        await page.WaitForTimeoutAsync(300);
        await tab.ScreenshotAsync("hostile-readme");

        Assert.DoesNotContain(requests, r => r.Contains("insecure.example", StringComparison.Ordinal) || r.Contains("evil.example", StringComparison.Ordinal));
        tab.AssertNoProblems();
    }

    [Fact]
    public async Task yanked_versions_show_their_reason()
    {
        await using var tab = await registry.OpenAsync();
        await tab.GoAsync("/packages/left-pad");
        var row = tab.Page.Locator("table.versions tr.is-yanked");
        Assert.Equal(1, await row.CountAsync());
        Assert.Contains("2.0.0", await row.InnerTextAsync());
        Assert.Contains("breaks padding of emoji", await row.Locator(".reason").InnerTextAsync());

        await tab.GoAsync("/packages/left-pad/2.0.0");
        Assert.Contains("Yanked: breaks padding of emoji", await tab.Page.Locator("p.yanked").InnerTextAsync());
        Assert.Contains("1.1.0", await tab.Page.Locator("p.note").InnerTextAsync());
        tab.AssertNoProblems();
    }

    [Fact]
    public async Task the_dependents_list_names_packages_whose_latest_version_depends_on_it()
    {
        await using var tab = await registry.OpenAsync();
        await tab.GoAsync("/packages/left-pad");
        var dependents = tab.Page.Locator("ul.dependents li a");
        Assert.Equal(["pad-app"], await dependents.AllInnerTextsAsync());

        await tab.GoAsync("/packages/pad-app");
        Assert.Equal(["left-pad"], await tab.Page.Locator("ul.deps:not(.dependents) li a").AllInnerTextsAsync());
        tab.AssertNoProblems();
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/search?q=pad")]
    [InlineData("/packages/left-pad")]
    [InlineData("/packages/left-pad/1.0.0")]
    [InlineData("/packages/left-pad/history")]
    [InlineData("/packages/evil-readme")]
    [InlineData("/log")]
    [InlineData("/docs")]
    public async Task every_page_fits_a_375_px_phone_without_sideways_scrolling(string path)
    {
        await using var tab = await registry.OpenAsync(width: 375, height: 812, scheme: ColorScheme.Dark);
        await tab.GoAsync(path);
        await tab.AssertNoSidewaysScrollAsync();
        if (path is "/packages/left-pad" or "/") await tab.ScreenshotAsync("phone-dark" + path.Replace('/', '-').TrimEnd('-'));
        tab.AssertNoProblems();
    }

    [Fact]
    public async Task a_browser_gets_an_html_404_and_the_api_keeps_problem_json()
    {
        await using var tab = await registry.OpenAsync();
        foreach (var path in new[] { "/no/such/page", "/packages/no-such-package", "/packages/left-pad/9.9.9" })
        {
            var response = await tab.GoAsync(path);
            Assert.Equal(404, response.Status);
            Assert.StartsWith("text/html", response.Headers["content-type"], StringComparison.Ordinal);
            Assert.Equal("Not found", await tab.Page.Locator("h1").InnerTextAsync());
        }
        await tab.ScreenshotAsync("not-found");

        foreach (var path in new[] { "/v1/nothing", "/v1/packages/no-such-package", "/health/nothing", "/.well-known/nothing", "/openapi/nothing" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
            using var response = await registry.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        // Console errors for the 404 documents themselves are the browser reporting the status; nothing else may appear.
        Assert.All(tab.Problems, p => Assert.Contains("404", p, StringComparison.Ordinal));
    }
}
