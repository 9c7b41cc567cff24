using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Marketplace.Functions.Observability;

/// <summary>
/// CloudWatch Embedded Metric Format on stdout, without an AWS SDK: a <see cref="MeterListener"/> aggregates the
/// <c>Marketplace</c> meter in process and every flush interval writes one JSON document per line, one per
/// combination of tag values (a document holds one value per dimension member). Counters become the sum over the
/// interval (<c>Count</c>), histograms the samples themselves (arrays of at most 100 numbers, more lines when there
/// are more), observable gauges their current value. Tags become dimensions, so only low-cardinality tags belong on
/// these instruments. Spec: AWS "Specification: Embedded metric format" (CloudWatch user guide).
/// </summary>
public sealed class EmfExporter : IHostedService, IDisposable
{
    /// <summary>Spec limits: metric definitions per directive, values per metric array, keys per dimension set.</summary>
    public const int MaxMetricsPerDirective = 100;
    public const int MaxValuesPerMetric = 100;
    public const int MaxDimensionKeys = 30;

    private readonly EmfOptions _options;
    private readonly TextWriter _output;
    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);
    private DateTimeOffset? _firstMeasurementAt;
    private ITimer? _timer;

    /// <param name="meters">Which meters to export; the <c>Marketplace</c> meter when null.</param>
    public EmfExporter(EmfOptions options, TextWriter output, TimeProvider time, Func<Meter, bool>? meters = null)
    {
        _options = options;
        _output = output;
        _time = time;
        var wanted = meters ?? (m => m.Name == MarketplaceMetrics.MeterName);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (wanted(instrument.Meter)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<float>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = _time.CreateTimer(_ => FlushQuietly(), null, _options.FlushInterval, _options.FlushInterval);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        FlushQuietly();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _listener.Dispose();
    }

    /// <summary>Writes what was measured since the last flush, one EMF document per line.</summary>
    public void Flush()
    {
        foreach (var line in Collect())
            _output.WriteLine(line);
        _output.Flush();
    }

    /// <summary>The documents of one flush, without writing them; resets the interval's aggregates.</summary>
    public IReadOnlyList<string> Collect()
    {
        _listener.RecordObservableInstruments();
        List<Snapshot> snapshots;
        DateTimeOffset at;
        lock (_lock)
        {
            at = _firstMeasurementAt ?? _time.GetUtcNow();
            _firstMeasurementAt = null;
            snapshots = new List<Snapshot>(_series.Count);
            foreach (var series in _series.Values)
            {
                if (series.TakeSnapshot() is { } snapshot) snapshots.Add(snapshot);
            }
        }
        var timestamp = at.ToUnixTimeMilliseconds();
        var documents = new List<string>();
        foreach (var group in snapshots.GroupBy(s => s.DimensionKey, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var dimensions = group.First().Tags;
            // The first document of a group carries every metric (a histogram's first 100 samples); further
            // documents carry the remaining samples, and the metrics past 100 definitions.
            var pending = group.OrderBy(s => s.Name, StringComparer.Ordinal)
                .Select(s => new Metric(s.Name, s.Unit, s.Values, s.IsDistribution)).ToList();
            while (pending.Count > 0)
            {
                var line = new List<Metric>();
                var rest = new List<Metric>();
                foreach (var metric in pending)
                {
                    if (line.Count == MaxMetricsPerDirective)
                    {
                        rest.Add(metric);
                        continue;
                    }
                    var values = metric.Values;
                    line.Add(metric with { Values = values.Length > MaxValuesPerMetric ? values[..MaxValuesPerMetric] : values });
                    if (values.Length > MaxValuesPerMetric) rest.Add(metric with { Values = values[MaxValuesPerMetric..] });
                }
                documents.Add(Document(timestamp, dimensions, line));
                pending = rest;
            }
        }
        return documents;
    }

    private string Document(long timestamp, KeyValuePair<string, string>[] tags, List<Metric> metrics)
    {
        var dimensionKeys = tags.Take(MaxDimensionKeys).Select(t => t.Key).ToList();
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            json.WriteStartObject();
            json.WriteStartObject("_aws");
            json.WriteNumber("Timestamp", timestamp);
            json.WriteStartArray("CloudWatchMetrics");
            json.WriteStartObject();
            json.WriteString("Namespace", _options.Namespace);
            json.WriteStartArray("Dimensions");
            json.WriteStartArray();
            foreach (var key in dimensionKeys) json.WriteStringValue(key);
            json.WriteEndArray();
            json.WriteEndArray();
            json.WriteStartArray("Metrics");
            foreach (var (name, unit, _, _) in metrics)
            {
                json.WriteStartObject();
                json.WriteString("Name", name);
                json.WriteString("Unit", unit);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            foreach (var (key, value) in tags) json.WriteString(key, value);
            foreach (var (name, _, values, isDistribution) in metrics)
            {
                if (!isDistribution)
                {
                    json.WriteNumber(name, values[0]);
                    continue;
                }
                json.WriteStartArray(name);
                foreach (var value in values) json.WriteNumberValue(value);
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private void FlushQuietly()
    {
        try
        {
            Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // stdout gone (process shutting down): nothing else can carry the metrics.
        }
    }

    private void Record<T>(Instrument instrument, T measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags) where T : struct
    {
        var value = Convert.ToDouble(measurement, CultureInfo.InvariantCulture);
        if (!double.IsFinite(value)) return;
        var sorted = new KeyValuePair<string, string>[tags.Length];
        for (var i = 0; i < tags.Length; i++)
            sorted[i] = new(tags[i].Key, Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) is { Length: > 0 } s ? s : "none");
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var dimensionKey = string.Join('\u001f', sorted.Select(t => t.Key + "=" + t.Value));
        var seriesKey = instrument.Meter.Name + "\u001e" + instrument.Name + "\u001e" + dimensionKey;
        lock (_lock)
        {
            if (!_series.TryGetValue(seriesKey, out var series))
                _series[seriesKey] = series = new Series(instrument, sorted, dimensionKey, _options.MaxSamples);
            series.Add(value);
            if (series.Kind != Kind.Gauge) _firstMeasurementAt ??= _time.GetUtcNow();
        }
    }

    private enum Kind { Sum, Distribution, Gauge }

    private sealed record Metric(string Name, string Unit, double[] Values, bool IsDistribution);

    private sealed record Snapshot(
        string Name, string Unit, KeyValuePair<string, string>[] Tags, string DimensionKey, double[] Values, bool IsDistribution);

    /// <summary>One instrument with one set of tag values, aggregated over the current interval.</summary>
    private sealed class Series(Instrument instrument, KeyValuePair<string, string>[] tags, string dimensionKey, int maxSamples)
    {
        private readonly List<double> _samples = [];
        private long _seen;
        private double _value;
        private bool _touched;

        public Kind Kind { get; } = instrument switch
        {
            Histogram<long> or Histogram<int> or Histogram<double> or Histogram<float> => Kind.Distribution,
            ObservableGauge<long> or ObservableGauge<int> or ObservableGauge<double> or ObservableGauge<float> => Kind.Gauge,
            ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double> or ObservableCounter<float> => Kind.Gauge,
            ObservableUpDownCounter<long> or ObservableUpDownCounter<int>
                or ObservableUpDownCounter<double> or ObservableUpDownCounter<float> => Kind.Gauge,
            _ => Kind.Sum,
        };

        public void Add(double value)
        {
            _touched = true;
            switch (Kind)
            {
                case Kind.Sum:
                    _value += value;
                    break;
                case Kind.Gauge:
                    _value = value;
                    break;
                default:
                    // Reservoir sampling (Algorithm R): every sample of the interval is kept with equal probability.
                    _seen++;
                    if (_samples.Count < maxSamples)
                    {
                        _samples.Add(value);
                    }
                    else
                    {
#pragma warning disable CA5394 // Sampling, not security.
                        var slot = Random.Shared.NextInt64(_seen);
#pragma warning restore CA5394
                        if (slot < maxSamples) _samples[(int)slot] = value;
                    }
                    break;
            }
        }

        public Snapshot? TakeSnapshot()
        {
            if (!_touched) return null;
            double[] values = Kind == Kind.Distribution ? [.. _samples] : [_value];
            _touched = false;
            _samples.Clear();
            _seen = 0;
            if (Kind == Kind.Sum) _value = 0;
            return new Snapshot(MetricName(instrument.Name), UnitOf(instrument, Kind), tags, dimensionKey, values, Kind == Kind.Distribution);
        }
    }

    /// <summary><c>request.duration</c> → <c>RequestDuration</c>, <c>owner_changes</c> → <c>OwnerChanges</c>.</summary>
    public static string MetricName(string instrumentName)
    {
        var name = new StringBuilder(instrumentName.Length);
        foreach (var part in instrumentName.Split(['.', '_', '-', '/'], StringSplitOptions.RemoveEmptyEntries))
            name.Append(char.ToUpperInvariant(part[0])).Append(part.AsSpan(1));
        return name.ToString();
    }

    private static string UnitOf(Instrument instrument, Kind kind) => instrument.Unit switch
    {
        "ms" => "Milliseconds",
        "s" => "Seconds",
        "us" => "Microseconds",
        "By" => "Bytes",
        "%" => "Percent",
        { } unit when unit.StartsWith('{') => "Count",
        null or "" or "1" => kind == Kind.Sum ? "Count" : "None",
        _ => "None",
    };
}
