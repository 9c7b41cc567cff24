using System.Net.Mime;
using System.Text;
using System.Text.Json;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using JasperFx.Events;
using Marketplace.Downloads;
using Marketplace.Functions.Events;
using Marketplace.Packages;
using Marketplace.Transparency;

namespace Marketplace.Tests.Events;

/// <summary>
/// The <c>sequence</c> extension past 2^31: every download is an event, so a busy registry gets there. The line is
/// written without narrowing, stays a JSON number, and below 2^31 it is byte for byte what the CloudEvents SDK wrote
/// with its 32-bit <c>Integer</c> attribute (so no feed line and no leaf hash of an existing log changes).
/// </summary>
public sealed class CloudEventSequenceTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    private static IEvent Event(object data, long sequence) => data switch
    {
        Downloaded d => new Event<Downloaded>(d) { Sequence = sequence, Id = Guid.Parse("0190a3f0-0000-7000-8000-000000000001"), Timestamp = At },
        VersionYanked y => new Event<VersionYanked>(y) { Sequence = sequence, Id = Guid.Parse("0190a3f0-0000-7000-8000-000000000002"), Timestamp = At },
        _ => throw new ArgumentOutOfRangeException(nameof(data)),
    };

    private static readonly object[] Samples =
    [
        new Downloaded("serde-json", "1.0.0", new string('a', 64), At),
        new VersionYanked("serde-json", "1.0.0", "broken \"quote\" <tag> é", "ed25519:00112233445566778899aabbccddeeff", At),
    ];

    // What the SDK wrote before: the extension as a 32-bit Integer attribute.
    private static byte[] AsTheSdkWroteIt(IEvent e)
    {
        var sequence = CloudEventAttribute.CreateExtension("sequence", CloudEventAttributeType.Integer);
        var line = JsonSerializer.Deserialize<JsonElement>(RegistryCloudEvents.Serialize(e));
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0, [sequence])
        {
            Id = line.GetProperty("id").GetString(),
            Source = new Uri(line.GetProperty("source").GetString()!, UriKind.Relative),
            Type = line.GetProperty("type").GetString(),
            Time = e.Timestamp.ToUniversalTime(),
            DataContentType = MediaTypeNames.Application.Json,
            Data = line.GetProperty("data").Clone(),
            Subject = line.GetProperty("subject").GetString(),
        };
        cloudEvent[sequence] = checked((int)e.Sequence);
        return new JsonEventFormatter(new JsonSerializerOptions(JsonSerializerDefaults.Web), default).EncodeStructuredModeMessage(cloudEvent, out _).ToArray();
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(123_456L)]
    [InlineData(int.MaxValue)]
    public void below_two_to_the_31_a_line_is_byte_for_byte_what_the_sdk_wrote(long sequence)
    {
        foreach (var data in Samples)
        {
            var e = Event(data, sequence);
            Assert.Equal(Encoding.UTF8.GetString(AsTheSdkWroteIt(e)), Encoding.UTF8.GetString(RegistryCloudEvents.Serialize(e)));
            Assert.Equal(MerkleTree.LeafHash(AsTheSdkWroteIt(e)), MerkleTree.LeafHash(RegistryCloudEvents.Serialize(e)));
        }
    }

    [Theory]
    [InlineData(2_147_483_648L)]
    [InlineData(5_000_000_000L)]
    [InlineData(long.MaxValue)]
    public void a_sequence_past_two_to_the_31_is_written_as_a_json_number_and_read_back(long sequence)
    {
        foreach (var data in Samples)
        {
            var line = RegistryCloudEvents.Serialize(Event(data, sequence));

            var json = JsonSerializer.Deserialize<JsonElement>(line);
            Assert.Equal(JsonValueKind.Number, json.GetProperty("sequence").ValueKind);
            Assert.Equal(sequence, json.GetProperty("sequence").GetInt64());
            Assert.Contains($"\"sequence\":{sequence},\"data\":", Encoding.UTF8.GetString(line), StringComparison.Ordinal);

            var (cloudEvent, parsed) = RegistryCloudEvents.Parse(line);
            Assert.Equal(sequence, parsed);
            Assert.Equal(json.GetProperty("id").GetString(), cloudEvent.Id);
            Assert.Equal(data, RegistryCloudEvents.DataOf(cloudEvent, data.GetType()));
        }
    }

    [Fact]
    public void the_sdk_itself_cannot_read_such_a_line_with_its_integer_attribute()
    {
        // Why the extension is not an SDK attribute: a reader declaring it Integer fails past 2^31 (docs/api.md says so).
        var line = RegistryCloudEvents.Serialize(Event(Samples[0], 3_000_000_000L));
        Assert.ThrowsAny<Exception>(() => new JsonEventFormatter().DecodeStructuredModeMessage(line, new ContentType("application/cloudevents+json"),
            [CloudEventAttribute.CreateExtension("sequence", CloudEventAttributeType.Integer)]));
    }
}
