using System.Net;
using System.Text.RegularExpressions;
using Marketplace.Functions.Web;
using Marketplace.Web.Tests.Support;

namespace Marketplace.Web.Tests;

/// <summary>What every page answers over HTTP: a strict CSP, an ETag that gives 304, own hashed assets, a bounded size.</summary>
[Collection("browser")]
public sealed partial class PageHttpScenarios(RegistryWithPackages registry)
{
    public static TheoryData<string> Pages => new()
    {
        "/", "/search?q=pad", "/search?category=text&sort=downloads", "/packages/left-pad", "/packages/left-pad/1.0.0",
        "/packages/left-pad/history", "/packages/evil-readme", "/log", "/docs",
    };

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task every_page_sends_a_strict_csp_an_etag_and_stays_under_100_kb(string path)
    {
        using var response = await registry.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(body.Length < 100 * 1024, $"{path} is {body.Length} bytes");
        var html = System.Text.Encoding.UTF8.GetString(body);
        Assert.DoesNotMatch("<script>|<script [^>]*>[^<]", html); // only <script src=… defer></script>
        Assert.DoesNotContain(" style=\"", html);
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//(?!example\\.com|img\\.example)", html); // no third-party assets

        var etag = response.Headers.ETag;
        Assert.NotNull(etag);
        using var again = new HttpRequestMessage(HttpMethod.Get, path);
        again.Headers.IfNoneMatch.Add(etag!);
        using var notModified = await registry.Http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    [Fact]
    public async Task assets_are_served_by_content_hash_for_a_year_and_unknown_hashes_are_not()
    {
        var html = await registry.Http.GetStringAsync("/");
        var urls = AssetUrl().Matches(html).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Equal(3, urls.Count); // stylesheet, script, icon
        foreach (var url in urls)
        {
            using var response = await registry.Http.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("immutable", response.Headers.CacheControl?.ToString());
            Assert.Contains("max-age=31536000", response.Headers.CacheControl?.ToString());
        }
        using var stale = await registry.Http.GetAsync("/assets/site.0000000000000000.css");
        Assert.Equal(HttpStatusCode.NotFound, stale.StatusCode);
    }

    [Fact]
    public async Task api_answers_keep_their_own_strictest_csp()
    {
        using var response = await registry.Http.GetAsync("/v1/packages/left-pad");
        Assert.Equal("default-src 'none'; frame-ancestors 'none'", string.Join(";", response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal(HtmlPage.ContentSecurityPolicy, string.Join(";", (await registry.Http.GetAsync("/")).Headers.GetValues("Content-Security-Policy")));
    }

    [GeneratedRegex("(?:href|src)=\"(/assets/[^\"]+)\"")]
    private static partial Regex AssetUrl();
}
