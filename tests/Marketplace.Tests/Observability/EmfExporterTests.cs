using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Marketplace.Functions.Observability;
using Microsoft.Extensions.Time.Testing;

namespace Marketplace.Tests.Observability;

/// <summary>The exporter on a meter of its own (no other test records there), so every value is exact.</summary>
public sealed class EmfExporterTests : IDisposable
{
    private readonly Meter _meter = new("Marketplace.Tests.Emf." + Guid.NewGuid().ToString("n"));
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly StringWriter _output = new(CultureInfo.InvariantCulture);
    private readonly EmfExporter _exporter;

    public EmfExporterTests() =>
        _exporter = new EmfExporter(new EmfOptions(), _output, _clock, m => ReferenceEquals(m, _meter));

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
        _output.Dispose();
    }

    private List<JsonElement> Flush()
    {
        _output.GetStringBuilder().Clear();
        _exporter.Flush();
        var lines = _output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        return lines.Select(l => EmfValidator.Validate(l, _clock.GetUtcNow())).ToList();
    }

    [Fact]
    public void counters_become_the_sum_over_the_interval_with_their_tags_as_dimensions()
    {
        var counter = _meter.CreateCounter<long>("rejections", "{problem}");
        counter.Add(1, new KeyValuePair<string, object?>("code", "not-found"));
        counter.Add(2, new KeyValuePair<string, object?>("code", "not-found"));
        counter.Add(1, new KeyValuePair<string, object?>("code", "invalid-name"));
        _clock.Advance(TimeSpan.FromSeconds(3));

        var documents = Flush();

        Assert.Equal(2, documents.Count);
        var notFound = documents.Single(d => d.GetProperty("code").GetString() == "not-found");
        Assert.Equal(3, notFound.GetProperty("Rejections").GetDouble());
        var directive = notFound.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0];
        Assert.Equal("[[\"code\"]]", directive.GetProperty("Dimensions").GetRawText());
        Assert.Equal("Count", directive.GetProperty("Metrics")[0].GetProperty("Unit").GetString());
        // The interval's first measurement dates the document.
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(),
            notFound.GetProperty("_aws").GetProperty("Timestamp").GetInt64());
        // A new interval starts from zero; nothing measured, nothing written.
        Assert.Empty(Flush());
    }

    [Fact]
    public void histograms_are_written_as_arrays_of_at_most_100_samples()
    {
        var latency = _meter.CreateHistogram<double>("request.duration", "ms");
        for (var i = 0; i < 250; i++)
            latency.Record(i + 0.5, new KeyValuePair<string, object?>("route", "/v1/x"), new KeyValuePair<string, object?>("method", "GET"));

        var documents = Flush();

        Assert.Equal(3, documents.Count);
        Assert.Equal([100, 100, 50], documents.Select(d => d.GetProperty("RequestDuration").GetArrayLength()).ToArray());
        Assert.Equal(Enumerable.Range(0, 250).Sum(i => i + 0.5), EmfValidator.Sum(documents, "RequestDuration"));
        Assert.All(documents, d => Assert.Equal("[[\"method\",\"route\"]]",
            d.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Dimensions").GetRawText()));
        Assert.Equal("Milliseconds", documents[0].GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Metrics")[0].GetProperty("Unit").GetString());
    }

    [Fact]
    public void past_the_sample_cap_a_uniform_reservoir_is_kept()
    {
        using var exporter = new EmfExporter(new EmfOptions { MaxSamples = 200 }, _output, _clock, m => ReferenceEquals(m, _meter));
        var latency = _meter.CreateHistogram<double>("latency", "ms");
        for (var i = 0; i < 10_000; i++) latency.Record(i % 2 == 0 ? 1 : 1000);

        _output.GetStringBuilder().Clear();
        exporter.Flush();
        var documents = _output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries)
            .Select(l => EmfValidator.Validate(l, _clock.GetUtcNow())).ToList();

        Assert.Equal(200, EmfValidator.SampleCount(documents, "Latency"));
        var ones = documents.SelectMany(d => d.GetProperty("Latency").EnumerateArray()).Count(v => v.GetDouble() == 1);
        Assert.InRange(ones, 60, 140);
    }

    [Fact]
    public void more_than_100_metrics_with_one_set_of_dimensions_are_split_over_documents()
    {
        var counters = Enumerable.Range(0, 120).Select(i => _meter.CreateCounter<int>($"c{i:000}")).ToList();
        foreach (var c in counters) c.Add(7, new KeyValuePair<string, object?>("stage", "test"));

        var documents = Flush();

        Assert.Equal(2, documents.Count);
        Assert.Equal(120, documents.Sum(d => d.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Metrics").GetArrayLength()));
        Assert.Equal(120 * 7, documents.Sum(d => d.EnumerateObject().Where(p => p.Name.StartsWith('C')).Sum(p => p.Value.GetDouble())));
    }

    [Fact]
    public void gauges_report_their_current_value_on_every_flush_and_untagged_metrics_have_an_empty_dimension_set()
    {
        var lag = 5L;
        _meter.CreateObservableGauge("projection.lag", () => lag, "{event}");
        _meter.CreateObservableGauge("projection.lag_seconds", () => 1.25, "s");

        var first = Flush().Single();
        lag = 0;
        var second = Flush().Single();

        Assert.Equal(5, first.GetProperty("ProjectionLag").GetDouble());
        Assert.Equal(0, second.GetProperty("ProjectionLag").GetDouble());
        Assert.Equal(1.25, second.GetProperty("ProjectionLagSeconds").GetDouble());
        var directive = second.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0];
        Assert.Equal("[[]]", directive.GetProperty("Dimensions").GetRawText());
        Assert.Equal(["Count", "Seconds"], directive.GetProperty("Metrics").EnumerateArray().Select(m => m.GetProperty("Unit").GetString()!).ToArray());
    }

    [Fact]
    public void numbers_are_invariant_and_each_document_is_one_line()
    {
        var previous = CultureInfo.CurrentCulture;
        // A culture writing decimal commas (the build is globalization-invariant, so made by hand).
        var commas = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        commas.NumberFormat.NumberDecimalSeparator = ",";
        commas.NumberFormat.NumberGroupSeparator = ".";
        CultureInfo.CurrentCulture = commas;
        try
        {
            _meter.CreateHistogram<double>("duration", "ms").Record(1234.5, new KeyValuePair<string, object?>("status", ""));
            _output.GetStringBuilder().Clear();
            _exporter.Flush();
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
        var line = _output.ToString().TrimEnd();
        Assert.DoesNotContain('\n', line);
        Assert.Contains("\"Duration\":[1234.5]", line, StringComparison.Ordinal);
        // An empty tag value is not a valid dimension value.
        Assert.Contains("\"status\":\"none\"", line, StringComparison.Ordinal);
        EmfValidator.Validate(line, _clock.GetUtcNow());
    }

    [Theory]
    [InlineData("request.duration", "RequestDuration")]
    [InlineData("owner_changes", "OwnerChanges")]
    [InlineData("projection.lag_seconds", "ProjectionLagSeconds")]
    [InlineData("publishes", "Publishes")]
    public void instrument_names_become_pascal_case_metric_names(string instrument, string metric) =>
        Assert.Equal(metric, EmfExporter.MetricName(instrument));
}
