using Marketplace.Functions.Web;

namespace Marketplace.Web.Tests;

/// <summary>Search highlights become safe HTML whether the adapter escaped the text or not.</summary>
public sealed class SnippetTests
{
    [Theory]
    [InlineData("a <mark>pad</mark> for &lt;script&gt;", "a <mark>pad</mark> for &lt;script&gt;")]
    [InlineData("a <mark>pad</mark> for <script>alert(1)</script>", "a <mark>pad</mark> for &lt;script&gt;alert(1)&lt;/script&gt;")]
    [InlineData("<mark><img src=x onerror=alert(1)></mark>", "<mark>&lt;img src=x onerror=alert(1)&gt;</mark>")]
    [InlineData("&amp;lt;b&amp;gt;", "&amp;lt;b&amp;gt;")]
    [InlineData("unclosed <mark>pad", "unclosed <mark>pad</mark>")]
    [InlineData("<MARK>Pad</MARK>s", "<mark>Pad</mark>s")]
    [InlineData("Tom &amp; Jerry", "Tom &amp; Jerry")]
    public void a_snippet_is_marked_text_and_nothing_else(string snippet, string html) =>
        Assert.Equal(html, Snippets.Render(snippet).Html);
}
