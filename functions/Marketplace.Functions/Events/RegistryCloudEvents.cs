using System.Net.Mime;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using JasperFx.Events;

namespace Marketplace.Functions.Events;

/// <summary>
/// The registry's events as CloudEvents 1.0 (JSON format), mapped by the <see cref="EventCatalog"/>, for the audit
/// feed (<c>GET /v1/events</c>), the transparency log's leaves and webhook bodies. <c>id</c> is the event's id (stable: a webhook retry and the
/// feed carry the same), <c>source</c> <c>/packages/{name}</c>, <c>type</c> <c>dev.marketplace.…</c>, <c>time</c>
/// the commit time, <c>subject</c> the version where there is one, <c>data</c> the event's fields in camelCase, and
/// the extension <c>sequence</c> its position in the global log. Serialisation is deterministic: the same event
/// always gives the same bytes, which is what the transparency log hashes.
/// </summary>
public static class RegistryCloudEvents
{
    public const string ContentType = "application/cloudevents+json; charset=utf-8";

    /// <summary>
    /// The name of the <c>sequence</c> extension: the event's global sequence, a JSON number. It is 64-bit, so from
    /// 2^31 on it exceeds CloudEvents' 32-bit <c>Integer</c> type; the SDK's attribute model holds only that, so the
    /// formatter writes it itself (at the place the SDK wrote it: the bytes of every earlier line are unchanged) and
    /// <see cref="Parse"/> takes it out before the SDK reads the rest.
    /// </summary>
    public const string SequenceName = "sequence";

    private static readonly JsonSerializerOptions DataJson = new(JsonSerializerDefaults.Web);
    private static readonly SequencedFormatter Formatter = new();

    /// <summary>The event's data back from a CloudEvent's <c>data</c>.</summary>
    public static object DataOf(CloudEvent cloudEvent, Type eventType) =>
        ((JsonElement)cloudEvent.Data!).Deserialize(eventType, DataJson)
        ?? throw new InvalidOperationException($"CloudEvent {cloudEvent.Id} has no data.");

    public static bool IsMapped(Type eventType) => EventCatalog.Find(eventType) is not null;

    /// <summary>The CloudEvents <c>type</c> of an event type (for filters), or null if unmapped.</summary>
    public static string? TypeOf(Type eventType) => EventCatalog.Find(eventType)?.CloudEventType;

    public static IEnumerable<string> Types => EventCatalog.All.Select(m => m.CloudEventType).Order(StringComparer.Ordinal);

    private static CatalogedEvent MappingOf(Type eventType) =>
        EventCatalog.Find(eventType) ?? throw new InvalidOperationException($"No CloudEvents mapping for {eventType.Name}.");

    public static CloudEvent ToCloudEvent(IEvent e)
    {
        var mapping = MappingOf(e.EventType);
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0)
        {
            Id = e.Id.ToString("D"),
            Source = new Uri(mapping.Source(e.Data), UriKind.Relative),
            Type = mapping.CloudEventType,
            Time = e.Timestamp.ToUniversalTime(),
            DataContentType = MediaTypeNames.Application.Json,
            Data = JsonSerializer.SerializeToElement(e.Data, e.EventType, DataJson),
        };
        if (mapping.Subject(e.Data) is { } subject) cloudEvent.Subject = subject;
        return cloudEvent;
    }

    /// <summary>The structured-mode JSON bytes of an event (no trailing newline).</summary>
    public static byte[] Serialize(IEvent e) => Formatter.Encode(ToCloudEvent(e), e.Sequence);

    /// <summary>An event line read back: the CloudEvent (without the extension) and its sequence.</summary>
    public static (CloudEvent Event, long Sequence) Parse(ReadOnlyMemory<byte> json)
    {
        var node = JsonNode.Parse(json.Span) as JsonObject ?? throw new InvalidDataException("An event line is not a JSON object.");
        var sequence = node[SequenceName] is JsonValue v && v.TryGetValue<long>(out var n)
            ? n
            : throw new InvalidDataException("An event line has no numeric 'sequence'.");
        node.Remove(SequenceName);
        var cloudEvent = Formatter.DecodeStructuredModeMessage(
            JsonSerializer.SerializeToUtf8Bytes(node), new ContentType("application/cloudevents+json"), null);
        return (cloudEvent, sequence);
    }

    /// <summary>
    /// The SDK's formatter, writing <c>"sequence": n</c> as the last attribute, just before <c>data</c> (every event
    /// has data), which is where the SDK put its one extension attribute.
    /// </summary>
    private sealed class SequencedFormatter() : JsonEventFormatter(new JsonSerializerOptions(JsonSerializerDefaults.Web), default)
    {
        [ThreadStatic] private static long? _sequence;

        public byte[] Encode(CloudEvent cloudEvent, long sequence)
        {
            _sequence = sequence;
            try { return EncodeStructuredModeMessage(cloudEvent, out _).ToArray(); }
            finally { _sequence = null; }
        }

        protected override void EncodeStructuredModeData(CloudEvent cloudEvent, Utf8JsonWriter writer)
        {
            if (_sequence is { } sequence) writer.WriteNumber(SequenceName, sequence);
            base.EncodeStructuredModeData(cloudEvent, writer);
        }
    }
}
