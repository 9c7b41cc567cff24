using System.Buffers.Text;
using System.Text.Json;
using Marketplace.Signing;

namespace Marketplace.TrustedPublishing;

/// <summary>
/// The payload of a publisher certificate: the registry's word that <see cref="PublicKey"/> (an ephemeral key a CI job
/// made) may publish <see cref="Name"/> between <see cref="NotBefore"/> and <see cref="NotAfter"/>, because the job
/// proved, by its OIDC ID token, that it is this run of this workflow.
/// </summary>
public sealed record PublisherCertificate(string Name, string PublicKey, string KeyId, string Issuer, string Repository, string Workflow,
    string? Ref, string? Sha, string? RunId, string? Environment, DateTimeOffset NotBefore, DateTimeOffset NotAfter)
{
    /// <summary>At most this long between notBefore and notAfter.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(15);

    /// <summary>Tolerance for clocks that disagree, at both ends of the window.</summary>
    public static readonly TimeSpan Skew = TimeSpan.FromMinutes(1);

    public TrustedPublisher Publisher => new(Issuer, Repository, Workflow, Environment);

    public Provenance Provenance => new(Issuer, Repository, Workflow, Ref, Sha, RunId, Environment);

    public static PublisherCertificate For(string name, OwnerKey key, WorkloadIdentity job, DateTimeOffset now) =>
        new(name, key.PublicKey, key.KeyId, job.Issuer, job.Repository, job.Workflow, job.Ref, job.Sha, job.RunId, job.Environment,
            now, now + MaxLifetime);

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, StatementJson.Options);

    /// <summary>
    /// Checks a certificate envelope: its payload type, an Ed25519 signature by <paramref name="registryKey"/> over the
    /// DSSE PAE, the payload's shape, and — when <paramref name="now"/> is given — that it is within its window.
    /// </summary>
    public static Outcome<PublisherCertificate> Verify(DsseEnvelope? envelope, OwnerKey registryKey, DateTimeOffset? now)
    {
        ArgumentNullException.ThrowIfNull(registryKey);
        if (envelope is null || envelope.PayloadType != PayloadTypes.PublisherCertificate)
            return DomainError.InvalidCertificate($"the certificate must be a DSSE envelope of payloadType '{PayloadTypes.PublisherCertificate}'.");
        if (Decode(envelope.Payload) is not { } payload)
            return DomainError.InvalidCertificate("the certificate's payload is not base64.");
        var pae = Dsse.Pae(envelope.PayloadType, payload);
        var signed = (envelope.Signatures ?? []).Take(StatementVerifier.MaxSignatures).Any(s => s is not null
            && (s.KeyId is not { Length: > 0 } || s.KeyId == registryKey.KeyId)
            && Decode(s.Sig) is { Length: 64 } sig && registryKey.Verify(pae, sig));
        if (!signed)
            return DomainError.InvalidCertificate($"the certificate is not signed by the registry key {registryKey.KeyId}.");
        PublisherCertificate? certificate;
        try
        {
            certificate = JsonSerializer.Deserialize<PublisherCertificate>(payload, StatementJson.Options);
        }
        catch (JsonException e)
        {
            return DomainError.InvalidCertificate($"the certificate's payload is not a publisher certificate: {e.Message}");
        }
        if (certificate is null || certificate.NotAfter - certificate.NotBefore > MaxLifetime || certificate.NotAfter < certificate.NotBefore)
            return DomainError.InvalidCertificate("the certificate's window is malformed.");
        if (now is { } at && (at > certificate.NotAfter + Skew || at < certificate.NotBefore - Skew))
            return DomainError.CertificateExpired(
                $"the certificate is valid from {certificate.NotBefore:O} to {certificate.NotAfter:O}; exchange a new ID token.");
        return certificate;
    }

    private static byte[]? Decode(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > StatementVerifier.MaxPayloadBytes) return null;
        var buffer = new byte[(text.Length * 3 + 3) / 4];
        if (Convert.TryFromBase64String(text, buffer, out var written)) return buffer[..written];
        if (Base64Url.IsValid(text) && Base64Url.TryDecodeFromChars(text, buffer, out written)) return buffer[..written];
        return null;
    }
}
