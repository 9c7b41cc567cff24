using AngleSharp.Css.Dom;
using AngleSharp.Dom;
using Ganss.Xss;
using Markdig;
using Markdig.Syntax;

namespace Marketplace.Functions.Web;

/// <summary>
/// A README from Markdown to safe HTML: Markdig (CommonMark, pipe tables, fenced code with <c>language-*</c>
/// classes), then an allow-list sanitizer. What survives: text structure, tables, code, links (http, https,
/// mailto and relative; <c>rel="nofollow noopener"</c>) and images from https only (<c>loading="lazy"</c>). No
/// script, style, iframe, form, event handler attribute or <c>style</c> attribute; <c>javascript:</c> and
/// <c>data:</c> URLs are dropped. Headings move down two levels (the page owns h1 and h2). The sanitizer is thread-safe once configured;
/// one instance serves every request.
/// </summary>
public sealed class ReadmeRenderer
{
    private static readonly MarkdownPipeline Markdown = new MarkdownPipelineBuilder()
        .UsePipeTables()
        .Build();

    private static readonly string[] Tags =
    [
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "span", "strong", "sub",
        "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    ];

    private static readonly string[] Attributes = ["href", "src", "alt", "title", "class", "align", "colspan", "rowspan", "start", "open"];

    private readonly HtmlSanitizer _sanitizer;

    public ReadmeRenderer()
    {
        _sanitizer = new HtmlSanitizer(new HtmlSanitizerOptions
        {
            AllowedTags = new HashSet<string>(Tags, StringComparer.OrdinalIgnoreCase),
            AllowedAttributes = new HashSet<string>(Attributes, StringComparer.OrdinalIgnoreCase),
            AllowedSchemes = new HashSet<string>(["http", "https", "mailto"], StringComparer.OrdinalIgnoreCase),
            UriAttributes = new HashSet<string>(["href", "src"], StringComparer.OrdinalIgnoreCase),
            AllowedCssProperties = new HashSet<string>(StringComparer.OrdinalIgnoreCase),
            AllowedAtRules = new HashSet<CssRuleType>(),
        });
        // A removed tag keeps its text (a stray <center> loses nothing), except where the text is code or markup
        // that was never meant to be read: a script's or style's body is dropped with it.
        _sanitizer.KeepChildNodes = true;
        _sanitizer.RemovingTag += (_, e) =>
        {
            if (e.Tag.NodeName is "SCRIPT" or "STYLE" or "TEMPLATE" or "NOSCRIPT" or "TEXTAREA" or "IFRAME" or "OBJECT"
                or "SVG" or "MATH" or "svg" or "math" or "TITLE" or "XMP" or "NOEMBED" or "NOFRAMES")
                e.Tag.TextContent = "";
        };
        _sanitizer.FilterUrl += (_, e) =>
        {
            // Pictures load from https only (the page's CSP says the same); links may be relative or http(s).
            if (e.Tag.NodeName.Equals("IMG", StringComparison.OrdinalIgnoreCase)
                && !(Uri.TryCreate(e.SanitizedUrl, UriKind.Absolute, out var u) && u.Scheme == Uri.UriSchemeHttps))
                e.SanitizedUrl = null;
        };
        _sanitizer.PostProcessNode += (_, e) =>
        {
            if (e.Node is not IElement element) return;
            if (element.GetAttribute("class") is { } classes)
            {
                // Only the code highlighting classes Markdig writes; page classes must not be borrowed.
                var kept = classes.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Where(c => c.StartsWith("language-", StringComparison.Ordinal)).ToList();
                if (kept.Count == 0) element.RemoveAttribute("class");
                else element.SetAttribute("class", string.Join(' ', kept));
            }
            switch (element.NodeName)
            {
                case "A":
                    element.SetAttribute("rel", "nofollow noopener");
                    break;
                case "IMG" when element.GetAttribute("src") is null:
                    element.Remove();
                    break;
                case "IMG":
                    element.SetAttribute("loading", "lazy");
                    break;
            }
        };
    }

    public Raw Render(string? markdown)
    {
        if (string.IsNullOrWhiteSpace(markdown)) return Raw.Empty;
        // The README sits under the page's own h1 and h2: its headings start at h3 (raw h1/h2 keep only their text).
        var document = Markdig.Markdown.Parse(markdown, Markdown);
        foreach (var heading in document.Descendants<HeadingBlock>())
            heading.Level = Math.Min(6, heading.Level + 2);
        var html = document.ToHtml(Markdown);
        return new Raw(_sanitizer.Sanitize(html));
    }
}
