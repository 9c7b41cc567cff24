using System.Net;

namespace Marketplace.Functions.Web;

/// <summary>
/// A search highlight as safe HTML, whichever way the adapter returned it (plain text with <c>&lt;mark&gt;</c>
/// around matches, or HTML-escaped text where only the marks are tags): split on the marks, decode each text
/// segment, encode it again and wrap the marked ones. Nothing of the snippet is ever written raw.
/// </summary>
public static class Snippets
{
    private const string Open = "<mark>";
    private const string Close = "</mark>";

    public static Raw Render(string? snippet)
    {
        if (string.IsNullOrEmpty(snippet)) return Raw.Empty;
        var w = new HtmlWriter();
        var marked = false;
        var at = 0;
        while (at <= snippet.Length)
        {
            var tag = marked ? Close : Open;
            var next = snippet.IndexOf(tag, at, StringComparison.OrdinalIgnoreCase);
            var end = next < 0 ? snippet.Length : next;
            var text = WebUtility.HtmlDecode(snippet[at..end]);
            if (text.Length > 0)
            {
                if (marked) w.Add($"<mark>{text}</mark>");
                else w.Add($"{text}");
            }
            if (next < 0) break;
            at = next + tag.Length;
            marked = !marked;
        }
        return new Raw(w.ToString());
    }
}
