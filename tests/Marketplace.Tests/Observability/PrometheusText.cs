using System.Globalization;
using System.Text.RegularExpressions;

namespace Marketplace.Tests.Observability;

/// <summary>
/// A strict reader of the Prometheus text exposition format (version 0.0.4), written from the format's description
/// and independent of prometheus-net: every line is a HELP, a TYPE, or a sample with well-formed labels and value;
/// a family's TYPE comes at most once and before its samples.
/// </summary>
public sealed partial class PrometheusText
{
    private readonly Dictionary<string, double> _samples = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Types => _types;
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> SampleKeys => _samples.Keys;

    public static PrometheusText Parse(string text)
    {
        var parsed = new PrometheusText();
        var helped = new HashSet<string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            var where = $"line {lineNumber}: '{line}'";
            Assert.DoesNotContain('\r', line);
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var help = Help().Match(line);
                Assert.True(help.Success, "malformed HELP, " + where);
                Assert.True(helped.Add(help.Groups["name"].Value), "second HELP for a family, " + where);
                continue;
            }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var type = TypeLine().Match(line);
                Assert.True(type.Success, "malformed TYPE, " + where);
                var family = type.Groups["name"].Value;
                Assert.False(parsed._types.ContainsKey(family), "second TYPE for a family, " + where);
                Assert.DoesNotContain(parsed._samples.Keys, k => FamilyOf(k, type.Groups["type"].Value) == family);
                parsed._types[family] = type.Groups["type"].Value;
                continue;
            }
            if (line.StartsWith('#')) continue;
            var sample = Sample().Match(line);
            Assert.True(sample.Success, "malformed sample, " + where);
            var labels = sample.Groups["labels"].Success ? sample.Groups["labels"].Value : "";
            var pairs = labels.Length == 0 ? [] : Label().Matches(labels).Select(m => (m.Groups["name"].Value, m.Groups["value"].Value)).ToList();
            Assert.Equal(labels.TrimEnd(','), string.Join(',', pairs.Select(p => $"{p.Item1}=\"{p.Item2}\"")));
            Assert.Equal(pairs.Count, pairs.Select(p => p.Item1).Distinct(StringComparer.Ordinal).Count());
            var value = ParseValue(sample.Groups["value"].Value);
            Assert.True(value.HasValue, "malformed value, " + where);
            var name = sample.Groups["name"].Value;
            var key = name + "{" + string.Join(',', pairs.OrderBy(p => p.Item1, StringComparer.Ordinal).Select(p => $"{p.Item1}=\"{p.Item2}\"")) + "}";
            Assert.True(parsed._samples.TryAdd(key, value.Value), "duplicate sample, " + where);
        }
        // Histograms: every series has an le="+Inf" bucket equal to its _count.
        foreach (var family in parsed._types.Where(t => t.Value == "histogram").Select(t => t.Key))
        {
            foreach (var count in parsed._samples.Where(s => s.Key.StartsWith(family + "_count{", StringComparison.Ordinal)))
            {
                var labels = count.Key[(family.Length + "_count{".Length)..^1];
                var inf = family + "_bucket{" + string.Join(',', labels.Split(',', StringSplitOptions.RemoveEmptyEntries).Append("le=\"+Inf\"")
                    .OrderBy(l => l[..l.IndexOf('=', StringComparison.Ordinal)], StringComparer.Ordinal)) + "}";
                Assert.Equal(count.Value, parsed._samples.GetValueOrDefault(inf, -1));
            }
        }
        return parsed;
    }

    /// <summary>A sample's value, 0 when absent (an instrument not measured yet has no series).</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var key = name + "{" + string.Join(',', labels.OrderBy(l => l.Name, StringComparer.Ordinal).Select(l => $"{l.Name}=\"{l.Value}\"")) + "}";
        return _samples.GetValueOrDefault(key);
    }

    private static string FamilyOf(string sampleKey, string type)
    {
        var name = sampleKey[..sampleKey.IndexOf('{', StringComparison.Ordinal)];
        if (type is "histogram" or "summary")
        {
            foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
            {
                if (name.EndsWith(suffix, StringComparison.Ordinal)) return name[..^suffix.Length];
            }
        }
        return name;
    }

    private static double? ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null,
    };

    [GeneratedRegex(@"^# HELP (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<text>([^\\\n]|\\\\|\\n)*)$")]
    private static partial Regex Help();

    [GeneratedRegex(@"^# TYPE (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<type>counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([a-zA-Z_][a-zA-Z0-9_]*=""([^""\\\n]|\\\\|\\""|\\n)*"",?)*)\})? (?<value>\S+)( -?\d+)?$")]
    private static partial Regex Sample();

    [GeneratedRegex(@"(?<name>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>([^""\\\n]|\\\\|\\""|\\n)*)""")]
    private static partial Regex Label();
}
