using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace Marketplace.Signing;

/// <summary>A DSSE v1 envelope (github.com/secure-systems-lab/dsse) as it travels in JSON.</summary>
public sealed record DsseEnvelope(
    [property: JsonPropertyName("payloadType")] string PayloadType,
    [property: JsonPropertyName("payload")] string Payload,
    [property: JsonPropertyName("signatures")] IReadOnlyList<DsseSignature> Signatures);

public sealed record DsseSignature(
    [property: JsonPropertyName("keyid")] string? KeyId,
    [property: JsonPropertyName("sig")] string Sig);

public static class Dsse
{
    /// <summary>
    /// Pre-Authentication Encoding: "DSSEv1" SP len(type) SP type SP len(payload) SP payload,
    /// lengths as ASCII decimal byte counts. This, not the payload, is what gets signed.
    /// </summary>
    public static byte[] Pae(string payloadType, ReadOnlySpan<byte> payload)
    {
        var typeBytes = Encoding.UTF8.GetBytes(payloadType);
        var prefix = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"DSSEv1 {typeBytes.Length} "));
        var middle = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $" {payload.Length} "));
        var result = new byte[prefix.Length + typeBytes.Length + middle.Length + payload.Length];
        prefix.CopyTo(result, 0);
        typeBytes.CopyTo(result, prefix.Length);
        middle.CopyTo(result, prefix.Length + typeBytes.Length);
        payload.CopyTo(result.AsSpan(prefix.Length + typeBytes.Length + middle.Length));
        return result;
    }
}
