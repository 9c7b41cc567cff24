using System.Globalization;
using Marketplace.Functions.Packages.Reading;

namespace Marketplace.Functions.Web;

/// <summary>
/// Downloads per UTC day as an inline SVG bar chart rendered on the server: one bar per day of the window (days
/// without downloads are zero), the bar's <c>title</c> giving its date and count, an accessible summary. Colours
/// come from the stylesheet's classes (the CSP allows no inline style).
/// </summary>
public static class DownloadChart
{
    public const int Days = 90;
    public const int Width = 450;
    public const int Height = 140;
    private const int Top = 20;
    private const int Bottom = 20;

    public static Raw Render(IReadOnlyList<DailyDownloads> days, DateOnly today, int window = Days)
    {
        var first = today.AddDays(1 - window);
        var counts = new long[window];
        foreach (var d in days)
        {
            var at = d.Day.DayNumber - first.DayNumber;
            if (at >= 0 && at < window) counts[at] += d.Count;
        }
        var total = counts.Sum();
        var max = Math.Max(1, counts.Max());
        var barWidth = (double)Width / window;
        var plot = Height - Top - Bottom;
        var w = new HtmlWriter();
        w.Add($"""<svg class="chart" viewBox="0 0 {Width} {Height}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">""");
        w.Add($"""<title id="chart-title">{Html.Count(total)} downloads in the last {window} days, """ +
            $"""at most {Html.Count(counts.Max())} a day</title>""");
        w.Add($"""<line class="axis" x1="0" y1="{Height - Bottom}" x2="{Width}" y2="{Height - Bottom}"/>""");
        for (var i = 0; i < window; i++)
        {
            var h = counts[i] == 0 ? 0 : Math.Max(1.0, plot * (double)counts[i] / max);
            var day = first.AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            w.Add($"""<rect class="bar" x="{i * barWidth:0.##}" y="{Height - Bottom - h:0.##}" """ +
                $"""width="{Math.Max(1, barWidth - 1):0.##}" height="{h:0.##}">""" +
                $"""<title>{day}: {Html.Count(counts[i])}</title></rect>""");
        }
        w.Add($"""<text class="label" x="0" y="{Top - 4}">{Html.Count(counts.Max())} / day</text>""");
        w.Add($"""<text class="label" x="0" y="{Height - 4}">{first.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}</text>""");
        w.Add($"""<text class="label" x="{Width}" y="{Height - 4}" text-anchor="end">""" +
            $"""{today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}</text>""");
        w.Add($"</svg>");
        return new Raw(w.ToString());
    }
}
