using System.Globalization;
using System.Net.Mime;
using System.Security.Cryptography;
using System.Text;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using NSec.Cryptography;

namespace Marketplace.Tests.Webhooks;

/// <summary>
/// A receiver's checks, written from the Standard Webhooks spec and the CloudEvents JSON format, independently of the
/// registry's sending code: the signed content is <c>{webhook-id}.{webhook-timestamp}.{raw body}</c>; <c>v1</c> is
/// base64 HMAC-SHA256 keyed with the base64-decoded part of the <c>whsec_</c> secret, compared in constant time;
/// <c>v1a</c> is base64 Ed25519 under the registry's public key; the timestamp is within ±5 minutes (the reference
/// libraries' tolerance); the body is a structured-mode CloudEvent read by the CloudEvents SDK.
/// </summary>
public static class StandardWebhooksVerifier
{
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    public static readonly CloudEventAttribute Sequence = CloudEventAttribute.CreateExtension("sequence", CloudEventAttributeType.Integer);

    public static CloudEvent Verify(ReceivedWebhook r, string secret, byte[] registryPublicKey, DateTimeOffset? now = null)
    {
        Assert.False(string.IsNullOrEmpty(r.Id), "webhook-id is missing");
        Assert.DoesNotContain('.', r.Id!);
        Assert.True(long.TryParse(r.Timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds), $"webhook-timestamp '{r.Timestamp}' is not integer seconds");
        var sent = DateTimeOffset.FromUnixTimeSeconds(seconds);
        Assert.InRange(sent, (now ?? DateTimeOffset.UtcNow) - Tolerance, (now ?? DateTimeOffset.UtcNow) + Tolerance);

        byte[] content = [.. Encoding.UTF8.GetBytes($"{r.Id}.{r.Timestamp}."), .. r.Body];
        var hmacKey = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = HMACSHA256.HashData(hmacKey, content);
        var publicKey = PublicKey.Import(SignatureAlgorithm.Ed25519, registryPublicKey, KeyBlobFormat.RawPublicKey);
        bool v1 = false, v1a = false;
        foreach (var entry in r.Signature!.Split(' '))
        {
            var comma = entry.IndexOf(',', StringComparison.Ordinal);
            Assert.True(comma > 0, $"signature entry '{entry}' is not version,signature");
            var signature = Convert.FromBase64String(entry[(comma + 1)..]);
            switch (entry[..comma])
            {
                case "v1": v1 |= CryptographicOperations.FixedTimeEquals(signature, expected); break;
                case "v1a": v1a |= SignatureAlgorithm.Ed25519.Verify(publicKey, content, signature); break;
            }
        }
        Assert.True(v1, "no v1 (HMAC-SHA256) signature verifies");
        Assert.True(v1a, "no v1a (Ed25519, registry key) signature verifies");

        Assert.Equal("application/cloudevents+json; charset=utf-8", r.ContentType, ignoreCase: true);
        var cloudEvent = new JsonEventFormatter().DecodeStructuredModeMessage(r.Body, new ContentType(r.ContentType!), [Sequence]);
        Assert.Equal(CloudEventsSpecVersion.V1_0, cloudEvent.SpecVersion);
        Assert.Equal(r.Id, cloudEvent.Id);
        return cloudEvent;
    }

    public static long SequenceOf(CloudEvent e) => Convert.ToInt64(e[Sequence], CultureInfo.InvariantCulture);
}
