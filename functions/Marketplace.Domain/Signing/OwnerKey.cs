using System.Security.Cryptography;
using NSec.Cryptography;

namespace Marketplace.Signing;

/// <summary>An Ed25519 public key as the API names it: raw 32 bytes in base64, and its keyId.</summary>
public sealed record OwnerKey(string KeyId, string PublicKey)
{
    public const int PublicKeyLength = 32;

    /// <summary><c>ed25519:</c> + the first 16 bytes of SHA-256(public key) in lowercase hex.</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> publicKey) =>
        "ed25519:" + Convert.ToHexStringLower(SHA256.HashData(publicKey)[..16]);

    public static Outcome<OwnerKey> Parse(string? base64)
    {
        if (string.IsNullOrEmpty(base64))
            return DomainError.InvalidKey("publicKey is required: the raw 32-byte Ed25519 key in base64.");
        if (base64.Length > 64)
            return DomainError.InvalidKey("publicKey is too long for a 32-byte Ed25519 key in base64.");
        var bytes = new byte[48];
        if (!Convert.TryFromBase64String(base64, bytes, out var written))
            return DomainError.InvalidKey("publicKey is not valid base64.");
        if (written != PublicKeyLength)
            return DomainError.InvalidKey($"publicKey decodes to {written} bytes; an Ed25519 public key has {PublicKeyLength}.");
        if (!NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, bytes.AsSpan(0, written), KeyBlobFormat.RawPublicKey, out _))
            return DomainError.InvalidKey("publicKey is not a valid Ed25519 public key.");
        var raw = bytes.AsSpan(0, written);
        return new OwnerKey(KeyIdOf(raw), Convert.ToBase64String(raw));
    }

    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        NSec.Cryptography.PublicKey.TryImport(
            SignatureAlgorithm.Ed25519, Convert.FromBase64String(PublicKey), KeyBlobFormat.RawPublicKey, out var key)
        && SignatureAlgorithm.Ed25519.Verify(key!, data, signature);
}
