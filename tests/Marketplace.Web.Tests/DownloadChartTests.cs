using System.Xml.Linq;
using Marketplace.Functions.Packages.Reading;
using Marketplace.Functions.Web;

namespace Marketplace.Web.Tests;

public sealed class DownloadChartTests
{
    private static readonly DateOnly Today = new(2026, 12, 3);
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static XElement Render(params DailyDownloads[] days) => XElement.Parse(DownloadChart.Render(days, Today).Html);

    [Fact]
    public void the_chart_has_one_bar_per_day_of_the_last_90_days_with_zero_days_flat()
    {
        var svg = Render(new DailyDownloads(Today, 10), new DailyDownloads(Today.AddDays(-89), 5), new DailyDownloads(Today.AddDays(-90), 999));
        var bars = svg.Elements(Svg + "rect").ToList();
        Assert.Equal(90, bars.Count);
        Assert.Equal("2026-09-05: 5", bars[0].Element(Svg + "title")!.Value);
        Assert.Equal("2026-12-03: 10", bars[^1].Element(Svg + "title")!.Value);
        Assert.Equal(88, bars.Count(b => b.Attribute("height")!.Value == "0"));
        // The highest day fills the plot; half of it is half as tall.
        Assert.Equal(2 * double.Parse(bars[0].Attribute("height")!.Value, System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(bars[^1].Attribute("height")!.Value, System.Globalization.CultureInfo.InvariantCulture), 3);
        Assert.Equal("15 downloads in the last 90 days, at most 10 a day", svg.Element(Svg + "title")!.Value);
    }

    [Fact]
    public void the_chart_is_well_formed_svg_without_style_or_script_when_there_are_no_downloads()
    {
        var html = DownloadChart.Render([], Today).Html;
        var svg = XElement.Parse(html);
        Assert.Equal("img", svg.Attribute("role")!.Value);
        Assert.All(svg.Elements(Svg + "rect"), b => Assert.Equal("0", b.Attribute("height")!.Value));
        Assert.DoesNotContain("style", html);
        Assert.DoesNotContain("script", html);
        Assert.Contains("0 downloads in the last 90 days", html);
    }

    [Fact]
    public void a_small_count_still_shows_a_visible_bar_beside_a_huge_one()
    {
        var svg = Render(new DailyDownloads(Today, 1_000_000), new DailyDownloads(Today.AddDays(-1), 1));
        var bars = svg.Elements(Svg + "rect").ToList();
        Assert.Equal("1", bars[^2].Attribute("height")!.Value);
    }
}
