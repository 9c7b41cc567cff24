using Marketplace.Functions.Web;

namespace Marketplace.Web.Tests;

/// <summary>The README pipeline (Markdig, then the allow-list sanitizer) against hostile Markdown and HTML.</summary>
public sealed class ReadmeSanitizerTests
{
    private static readonly ReadmeRenderer Renderer = new();

    public static TheoryData<string> Hostile => new()
    {
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        "<img src=\"javascript:alert(1)\">",
        "<svg onload=alert(1)><circle r=1 /></svg>",
        "<svg><script>alert(1)</script></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<style>body{display:none}</style>",
        "<p style=\"background:url(javascript:alert(1))\">x</p>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
        "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
        "<a href=\" javascript:alert(1)\">x</a>",
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
        "<a href=\"vbscript:msgbox(1)\">x</a>",
        "<div onmouseover=\"alert(1)\">x</div>",
        "<details open ontoggle=alert(1)>x</details>",
        "<form action=\"https://evil.example\"><input name=p><button formaction=javascript:alert(1)>go</button></form>",
        "<base href=\"https://evil.example/\">",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
        "<link rel=stylesheet href=https://evil.example/x.css>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<textarea><script>alert(1)</script></textarea>",
        "<template><script>alert(1)</script></template>",
        "`<script>alert(1)</script>` and ```\n<script>alert(1)</script>\n```",
        "<p class=\"skip banner\">borrowed page styles</p>",
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void hostile_markdown_renders_without_anything_that_runs_or_restyles_the_page(string markdown)
    {
        var html = Renderer.Render(markdown).Html;
        var lower = html.ToLowerInvariant();
        foreach (var banned in new[] { "<script", "<style", "<iframe", "<svg", "<object", "<embed", "<form", "<input", "<button", "<base", "<meta", "<link", "<textarea", "<template", "<math", " style=", "javascript:", "vbscript:", "data:" })
            Assert.DoesNotContain(banned, lower.Replace("&lt;script", "", StringComparison.Ordinal));
        Assert.DoesNotMatch(@"<[^>]+\son[a-z]+\s*=", lower);
        Assert.DoesNotContain("class=\"skip", lower);
    }

    [Theory]
    [InlineData("<script>alert('x')</script>after")]
    [InlineData("<style>body{display:none}</style>after")]
    [InlineData("<svg><text>alert('x')</text></svg>after")]
    [InlineData("<textarea>alert('x')</textarea>after")]
    public void the_body_of_a_script_or_style_is_dropped_not_shown(string markdown)
    {
        var html = Renderer.Render(markdown).Html;
        Assert.DoesNotContain("alert", html);
        Assert.DoesNotContain("display", html);
        Assert.Contains("after", html);
    }

    [Fact]
    public void code_keeps_its_text_escaped_and_its_language_class()
    {
        var html = Renderer.Render("```js\nalert('<b>')\n```\n\n`<script>x</script>`").Html;
        Assert.Contains("<code class=\"language-js\">", html);
        Assert.Contains("&lt;b&gt;", html);
        Assert.Contains("&lt;script&gt;x&lt;/script&gt;", html);
    }

    [Fact]
    public void links_get_nofollow_noopener_and_images_load_lazily_from_https_only()
    {
        var html = Renderer.Render("[docs](https://example.com/docs) ![ok](https://img.example/a.png) ![plain](http://img.example/b.png) ![rel](b.png)").Html;
        Assert.Contains("<a href=\"https://example.com/docs\" rel=\"nofollow noopener\">docs</a>", html);
        Assert.Contains("<img src=\"https://img.example/a.png\" alt=\"ok\" loading=\"lazy\">", html);
        Assert.DoesNotContain("http://img.example", html);
        Assert.DoesNotContain("b.png", html);
    }

    [Fact]
    public void commonmark_structure_and_pipe_tables_survive()
    {
        var html = Renderer.Render("# Title\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quote\n\n**bold** _em_").Html;
        foreach (var tag in new[] { "<h3>Title</h3>", "<ul>", "<li>one</li>", "<table>", "<th>a</th>", "<td>2</td>", "<blockquote>", "<strong>bold</strong>", "<em>em</em>" })
            Assert.Contains(tag, html);
    }

    [Fact]
    public void an_empty_readme_renders_nothing() => Assert.Equal("", Renderer.Render("  \n").Html);
}
