using System.Text.Json;

namespace Marketplace.Tests.Observability;

/// <summary>
/// Checks one log line against AWS's "Specification: Embedded metric format", written from the spec and its JSON
/// schema, independent of the exporter: a single JSON object on one line; <c>_aws.Timestamp</c> an integer of
/// milliseconds (within two weeks back and two hours ahead); <c>CloudWatchMetrics</c> a non-empty array of directives
/// with a 1–255 character <c>Namespace</c>, <c>Dimensions</c> (arrays of at most 30 keys, each a root member with a
/// string value) and at most 100 <c>Metrics</c>, each naming a root member that is a number or an array of at most
/// 100 numbers, with a valid CloudWatch unit, and no name twice.
/// </summary>
public static class EmfValidator
{
    public static readonly HashSet<string> Units = new(StringComparer.Ordinal)
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
        "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
        "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    };

    /// <returns>The parsed document, for assertions on values.</returns>
    public static JsonElement Validate(string line, DateTimeOffset now)
    {
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("{", line, StringComparison.Ordinal);
        Assert.EndsWith("}", line, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(line, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        var root = document.RootElement.Clone();
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        var members = root.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(members.Count, members.Distinct(StringComparer.Ordinal).Count());

        var aws = root.GetProperty("_aws");
        Assert.Equal(JsonValueKind.Object, aws.ValueKind);
        var timestamp = aws.GetProperty("Timestamp");
        Assert.Equal(JsonValueKind.Number, timestamp.ValueKind);
        Assert.True(timestamp.TryGetInt64(out var ms), "Timestamp must be an integer");
        Assert.DoesNotContain('.', timestamp.GetRawText());
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds(ms), now.AddDays(-14), now.AddHours(2));

        var directives = aws.GetProperty("CloudWatchMetrics");
        Assert.Equal(JsonValueKind.Array, directives.ValueKind);
        Assert.NotEqual(0, directives.GetArrayLength());
        foreach (var directive in directives.EnumerateArray())
        {
            var ns = directive.GetProperty("Namespace").GetString();
            Assert.InRange(ns!.Length, 1, 255);

            var dimensionSets = directive.GetProperty("Dimensions");
            Assert.Equal(JsonValueKind.Array, dimensionSets.ValueKind);
            Assert.NotEqual(0, dimensionSets.GetArrayLength());
            foreach (var set in dimensionSets.EnumerateArray())
            {
                Assert.Equal(JsonValueKind.Array, set.ValueKind);
                Assert.InRange(set.GetArrayLength(), 0, 30);
                foreach (var key in set.EnumerateArray())
                {
                    var name = key.GetString()!;
                    Assert.InRange(name.Length, 1, 255);
                    Assert.True(root.TryGetProperty(name, out var target), $"dimension {name} is not a root member");
                    Assert.Equal(JsonValueKind.String, target.ValueKind);
                    Assert.InRange(target.GetString()!.Length, 1, 1024);
                }
            }

            var metrics = directive.GetProperty("Metrics");
            Assert.Equal(JsonValueKind.Array, metrics.ValueKind);
            Assert.InRange(metrics.GetArrayLength(), 1, 100);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var metric in metrics.EnumerateArray())
            {
                var name = metric.GetProperty("Name").GetString()!;
                Assert.InRange(name.Length, 1, 255);
                Assert.True(names.Add(name), $"metric {name} defined twice");
                if (metric.TryGetProperty("Unit", out var unit))
                    Assert.Contains(unit.GetString()!, Units);
                Assert.True(root.TryGetProperty(name, out var target), $"metric {name} is not a root member");
                if (target.ValueKind == JsonValueKind.Array)
                {
                    Assert.InRange(target.GetArrayLength(), 1, 100);
                    Assert.All(target.EnumerateArray(), v => Assert.Equal(JsonValueKind.Number, v.ValueKind));
                }
                else
                {
                    Assert.Equal(JsonValueKind.Number, target.ValueKind);
                }
            }
        }
        return root;
    }

    /// <summary>The sum of a metric's values over documents whose dimensions match.</summary>
    public static double Sum(IEnumerable<JsonElement> documents, string metric, params (string Key, string Value)[] dimensions) =>
        documents
            .Where(d => d.TryGetProperty(metric, out _)
                && dimensions.All(x => d.TryGetProperty(x.Key, out var v) && v.GetString() == x.Value))
            .Sum(d => d.GetProperty(metric) is { ValueKind: JsonValueKind.Array } array
                ? array.EnumerateArray().Sum(v => v.GetDouble())
                : d.GetProperty(metric).GetDouble());

    public static int SampleCount(IEnumerable<JsonElement> documents, string metric, params (string Key, string Value)[] dimensions) =>
        documents
            .Where(d => d.TryGetProperty(metric, out _)
                && dimensions.All(x => d.TryGetProperty(x.Key, out var v) && v.GetString() == x.Value))
            .Sum(d => d.GetProperty(metric) is { ValueKind: JsonValueKind.Array } array ? array.GetArrayLength() : 1);
}
