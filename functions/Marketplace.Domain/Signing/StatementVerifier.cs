using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;

namespace Marketplace.Signing;

/// <summary>A statement whose envelope verified under <see cref="Signer"/> and which is fresh.</summary>
public sealed record VerifiedStatement<T>(T Statement, OwnerKey Signer, DsseEnvelope Envelope, string StatementId)
    where T : class, IStatement;

/// <summary>
/// Checks a DSSE envelope end to end: payload type, the signer's key, an Ed25519 signature over PAE,
/// then the statement inside and its freshness. Authenticity is checked before the payload is parsed.
/// </summary>
public static class StatementVerifier
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromMinutes(1);
    public const int MaxPayloadBytes = 256 * 1024;
    public const int MaxSignatures = 8;

    public static Outcome<VerifiedStatement<T>> Verify<T>(DsseEnvelope? envelope, string? publicKey, string expectedType, DateTimeOffset now)
        where T : class, IStatement
    {
        if (envelope is null)
            return DomainError.InvalidEnvelope("envelope is required.");
        if (envelope.PayloadType != expectedType)
            return DomainError.InvalidEnvelope($"payloadType must be '{expectedType}'.");
        if (envelope.Signatures is not { Count: > 0 and <= MaxSignatures })
            return DomainError.InvalidEnvelope($"an envelope carries 1 to {MaxSignatures} signatures.");
        if (DecodeBase64(envelope.Payload, MaxPayloadBytes) is not { } payload)
            return DomainError.InvalidEnvelope($"payload must be base64 of at most {MaxPayloadBytes} bytes.");

        var key = OwnerKey.Parse(publicKey);
        if (!key.TryGet(out var signer, out var keyError)) return keyError;

        var pae = Dsse.Pae(envelope.PayloadType, payload);
        var verified = false;
        foreach (var signature in envelope.Signatures)
        {
            if (signature is null || (signature.KeyId is { Length: > 0 } id && id != signer.KeyId))
                continue;
            if (DecodeBase64(signature.Sig, 64) is { Length: 64 } sig && signer.Verify(pae, sig))
            {
                verified = true;
                break;
            }
        }
        if (!verified)
            return DomainError.BadSignature($"no signature in the envelope verifies under key {signer.KeyId} over the DSSE PAE of the payload.");

        T? statement;
        try
        {
            statement = JsonSerializer.Deserialize<T>(payload, StatementJson.Options);
        }
        catch (JsonException e)
        {
            return DomainError.InvalidStatement($"the signed payload is not a valid statement: {e.Message}");
        }
        if (statement is null)
            return DomainError.InvalidStatement("the signed payload is null.");
        if (statement.IssuedAt.Offset != TimeSpan.Zero)
            return DomainError.InvalidStatement("issuedAt must be RFC 3339 UTC (ending in 'Z').");
        if (statement.IssuedAt < now - MaxAge)
            return DomainError.StaleStatement($"issuedAt {statement.IssuedAt:O} is older than {MaxAge.TotalMinutes} minutes.");
        if (statement.IssuedAt > now + MaxFutureSkew)
            return DomainError.StaleStatement($"issuedAt {statement.IssuedAt:O} is more than {MaxFutureSkew.TotalMinutes} minute in the future.");

        // The statement's identity is the signed bytes with their type: replays of them are refused.
        var statementId = Convert.ToHexStringLower(SHA256.HashData(pae));
        return new VerifiedStatement<T>(statement, signer, envelope, statementId);
    }

    /// <summary>DSSE allows standard or URL-safe base64.</summary>
    private static byte[]? DecodeBase64(string? text, int maxBytes)
    {
        if (string.IsNullOrEmpty(text) || text.Length > (maxBytes + 2) / 3 * 4)
            return null;
        // Room for unpadded base64url too (its length need not be a multiple of 4).
        var buffer = new byte[(text.Length * 3 + 3) / 4];
        if (Convert.TryFromBase64String(text, buffer, out var written))
            return buffer[..written];
        if (Base64Url.IsValid(text) && Base64Url.TryDecodeFromChars(text, buffer, out written))
            return buffer[..written];
        return null;
    }
}
