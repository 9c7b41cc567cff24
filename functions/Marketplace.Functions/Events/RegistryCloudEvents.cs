using System.Collections.Concurrent;
using System.Net.Mime;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using JasperFx.Events;
using Marketplace.Downloads;
using Marketplace.Packages;
using Marketplace.TrustedPublishing;

namespace Marketplace.Functions.Events;

/// <summary>
/// The registry's events as CloudEvents 1.0 (JSON format), one mapping for the audit feed (<c>GET /v1/events</c>),
/// the transparency log's leaves and webhook bodies. <c>id</c> is the event's id (stable: a webhook retry and the
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

    /// <param name="Stream">The stream the event lives in, for a mirror to append it to; null for download streams (grouped by the importer).</param>
    private sealed record Mapping(string Type, Func<object, string> Source, Func<object, string?> Subject, Func<object, string?> Stream);

    private static readonly ConcurrentDictionary<Type, Mapping> Mappings = new()
    {
        [typeof(PackagePublished)] = Package<PackagePublished>("dev.marketplace.package.published", e => e.Name, e => $"{e.Name}@{e.Version}"),
        [typeof(VersionYanked)] = Package<VersionYanked>("dev.marketplace.version.yanked", e => e.Name, e => $"{e.Name}@{e.VersionKey}"),
        [typeof(VersionUnyanked)] = Package<VersionUnyanked>("dev.marketplace.version.unyanked", e => e.Name, e => $"{e.Name}@{e.VersionKey}"),
        [typeof(OwnerAdded)] = Package<OwnerAdded>("dev.marketplace.owner.added", e => e.Name, e => e.KeyId),
        [typeof(OwnerRemoved)] = Package<OwnerRemoved>("dev.marketplace.owner.removed", e => e.Name, e => e.KeyId),
        [typeof(TrustedPublisherAdded)] = Package<TrustedPublisherAdded>("dev.marketplace.trusted-publisher.added", e => e.Name, e => e.Repository),
        [typeof(TrustedPublisherRemoved)] = Package<TrustedPublisherRemoved>("dev.marketplace.trusted-publisher.removed", e => e.Name, e => e.Repository),
        [typeof(TrustedPublishingRequirementSet)] = Package<TrustedPublishingRequirementSet>("dev.marketplace.trusted-publishing.required", e => e.Name, _ => null),
        [typeof(PublisherCertificateIssued)] = Package<PublisherCertificateIssued>("dev.marketplace.publisher-certificate.issued", e => e.Name, e => e.KeyId),
        [typeof(Downloaded)] = new("dev.marketplace.package.downloaded", e => "/packages/" + ((Downloaded)e).Name,
            e => $"{((Downloaded)e).Name}@{((Downloaded)e).VersionKey}", _ => null),
    };

    private static Mapping Package<T>(string type, Func<T, string> name, Func<T, string?> subject) =>
        new(type, e => "/packages/" + name((T)e), e => subject((T)e), e => name((T)e));

    /// <summary>
    /// Adds the mapping of another event type (a feature's own events, such as webhook subscriptions);
    /// <paramref name="stream"/> names the stream a mirror appends it to (default: the last segment of its source).
    /// </summary>
    public static void Register<T>(string type, Func<T, string> source, Func<T, string?> subject, Func<T, string>? stream = null) =>
        Mappings[typeof(T)] = new Mapping(type, e => source((T)e), e => subject((T)e),
            e => stream is null ? source((T)e).Split('/')[^1] : stream((T)e));

    /// <summary>The .NET type of a CloudEvents type, for a mirror reading the feed back.</summary>
    public static Type? EventTypeOf(string cloudEventType) => Mappings.FirstOrDefault(m => m.Value.Type == cloudEventType).Key;

    /// <summary>The stream an event of the feed belongs to, or null for a download (download streams are arbitrary groups).</summary>
    public static string? StreamOf(object data) =>
        Mappings.TryGetValue(data.GetType(), out var m) ? m.Stream(data) : throw new InvalidOperationException($"No CloudEvents mapping for {data.GetType().Name}.");

    /// <summary>The event's data back from a CloudEvent's <c>data</c>.</summary>
    public static object DataOf(CloudEvent cloudEvent, Type eventType) =>
        ((JsonElement)cloudEvent.Data!).Deserialize(eventType, DataJson)
        ?? throw new InvalidOperationException($"CloudEvent {cloudEvent.Id} has no data.");

    public static bool IsMapped(Type eventType) => Mappings.ContainsKey(eventType);

    /// <summary>The CloudEvents <c>type</c> of an event type (for filters), or null if unmapped.</summary>
    public static string? TypeOf(Type eventType) => Mappings.TryGetValue(eventType, out var m) ? m.Type : null;

    public static IEnumerable<string> Types => Mappings.Values.Select(m => m.Type).Order(StringComparer.Ordinal);

    public static CloudEvent ToCloudEvent(IEvent e)
    {
        if (!Mappings.TryGetValue(e.EventType, out var mapping))
            throw new InvalidOperationException($"No CloudEvents mapping for {e.EventType.Name}.");
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0)
        {
            Id = e.Id.ToString("D"),
            Source = new Uri(mapping.Source(e.Data), UriKind.Relative),
            Type = mapping.Type,
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
        var cloudEvent = Formatter.DecodeStructuredModeMessage(JsonSerializer.SerializeToUtf8Bytes(node), new ContentType("application/cloudevents+json"), null);
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
