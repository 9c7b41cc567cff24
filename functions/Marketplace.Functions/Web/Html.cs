using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Marketplace.Functions.Web;

/// <summary>HTML the page itself made (markup, or a sanitizer's output): the only thing written without encoding.</summary>
public readonly record struct Raw(string Html)
{
    public static Raw Empty { get; } = new("");
}

/// <summary>
/// The one encoding helper of the web pages. Pages are written with interpolated strings through
/// <see cref="HtmlWriter.Add"/>: the literal parts are the page's markup, every value in a hole is HTML-encoded
/// unless it is a <see cref="Raw"/>, so an untrusted string cannot become markup by being forgotten.
/// </summary>
public static class Html
{
    // Every script stays readable (no need to escape é or 日本), but < > & " ' + ` and controls are encoded.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    public static string Encode(string? text) => string.IsNullOrEmpty(text) ? "" : Encoder.Encode(text);

    /// <summary>A path segment: URL-escaped (so <c>/</c>, <c>?</c>, <c>#</c> stay inside it), then HTML-encoded where used.</summary>
    public static string Segment(string text) => Uri.EscapeDataString(text);

    /// <summary>A query string from name/value pairs (null values left out).</summary>
    public static string Query(params (string Name, string? Value)[] pairs)
    {
        var parts = pairs.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => p.Name + "=" + Uri.EscapeDataString(p.Value!)).ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    /// <summary>Whether a link target from a manifest may be shown as a link: absolute http(s) only.</summary>
    public static bool IsSafeLink(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp);

    public static string Bytes(long size) => size switch
    {
        < 1024 => size.ToString(CultureInfo.InvariantCulture) + " B",
        < 1024 * 1024 => (size / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        _ => (size / (1024.0 * 1024)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
    };

    public static string Count(long n) => n.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Date(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>Builds a page; see <see cref="Html"/>.</summary>
public sealed class HtmlWriter
{
    internal StringBuilder Builder { get; } = new(16 * 1024);

    public HtmlWriter Add([InterpolatedStringHandlerArgument("")] ref HtmlHandler html) => this;

    public HtmlWriter Raw(Raw html)
    {
        Builder.Append(html.Html);
        return this;
    }

    public override string ToString() => Builder.ToString();
}

[InterpolatedStringHandler]
public readonly ref struct HtmlHandler
{
    private readonly StringBuilder _builder;

    public HtmlHandler(int literalLength, int formattedCount, HtmlWriter writer)
    {
        _ = formattedCount;
        _builder = writer.Builder;
        _builder.EnsureCapacity(_builder.Length + literalLength * 2);
    }

    public void AppendLiteral(string markup) => _builder.Append(markup);

    public void AppendFormatted(Raw html) => _builder.Append(html.Html);

    public void AppendFormatted(string? text) => _builder.Append(Html.Encode(text));

    public void AppendFormatted(long number) => _builder.Append(number.ToString(CultureInfo.InvariantCulture));

    public void AppendFormatted(int number) => _builder.Append(number.ToString(CultureInfo.InvariantCulture));

    public void AppendFormatted(double number, string format) => _builder.Append(number.ToString(format, CultureInfo.InvariantCulture));
}
