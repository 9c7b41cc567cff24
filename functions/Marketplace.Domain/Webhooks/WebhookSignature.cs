using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Marketplace.Webhooks;

/// <summary>
/// Standard Webhooks signing: the signed content is <c>{webhook-id}.{webhook-timestamp}.{body}</c> (exact bytes);
/// <c>v1,</c> + base64 HMAC-SHA256 keyed with the decoded subscription secret, and <c>v1a,</c> + base64 Ed25519 by the
/// registry key (its public key is in <c>/.well-known/marketplace</c>); the header lists both, space-separated.
/// </summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";
    public const int SecretBytes = 32;

    /// <summary><c>whsec_</c> + base64 of 32 random bytes.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(SecretBytes));

    public static byte[] DecodeSecret(string secret)
    {
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
            throw new FormatException("A webhook secret starts with 'whsec_'.");
        return Convert.FromBase64String(secret[SecretPrefix.Length..]);
    }

    public static byte[] SignedContent(string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{id}.{timestamp}."));
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return content;
    }

    public static string V1(ReadOnlySpan<byte> secretKey, ReadOnlySpan<byte> content) =>
        "v1," + Convert.ToBase64String(HMACSHA256.HashData(secretKey, content));

    public static string V1a(Key registryKey, ReadOnlySpan<byte> content) =>
        "v1a," + Convert.ToBase64String(SignatureAlgorithm.Ed25519.Sign(registryKey, content));

    /// <summary>The <c>webhook-signature</c> header value.</summary>
    public static string Header(ReadOnlySpan<byte> secretKey, Key registryKey, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var content = SignedContent(id, timestamp, body);
        return V1(secretKey, content) + " " + V1a(registryKey, content);
    }
}
