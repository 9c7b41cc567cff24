using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Marketplace.Signing;

/// <summary>
/// <c>issuedAt</c> as RFC 3339 with an explicit UTC designator (<c>Z</c> or <c>+00:00</c>). Without this, a
/// timestamp with no offset would be read in the host's local zone and mean different things on different hosts.
/// </summary>
public sealed class Rfc3339UtcConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        if (text is null || !(text.EndsWith('Z') || text.EndsWith("+00:00", StringComparison.Ordinal) || HasOffset(text)))
            throw new JsonException("issuedAt must be RFC 3339 with a UTC designator, e.g. 2026-01-01T00:00:00Z.");
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
            throw new JsonException($"'{text}' is not an RFC 3339 timestamp.");
        return value;
    }

    // A non-UTC offset parses here and is refused by the verifier with a clearer message.
    private static bool HasOffset(string text) =>
        text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':';

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
}
