using System.Net;

namespace Marketplace.Functions.Search;

/// <summary>
/// What every adapter's highlight snippet is: HTML-escaped text in which the only tags are <c>&lt;mark&gt;</c> and
/// <c>&lt;/mark&gt;</c>, so a page may insert it as HTML. A description is publisher input: a snippet that passed it
/// through raw (ts_headline, Typesense) would be stored XSS on any page that shows it.
/// </summary>
public static class HighlightHtml
{
    private const string Open = "<mark>", Close = "</mark>";
    private static readonly string EscapedOpen = WebUtility.HtmlEncode(Open), EscapedClose = WebUtility.HtmlEncode(Close);

    /// <summary>
    /// A snippet whose matches an engine wrapped in <c>&lt;mark&gt;</c> around unescaped text: everything is escaped,
    /// then the mark tags are put back. Text that spelt <c>&amp;lt;mark&amp;gt;</c> stays text (its <c>&amp;</c> is escaped too).
    /// </summary>
    public static string Escape(string snippet) =>
        WebUtility.HtmlEncode(snippet).Replace(EscapedOpen, Open, StringComparison.Ordinal).Replace(EscapedClose, Close, StringComparison.Ordinal);
}
