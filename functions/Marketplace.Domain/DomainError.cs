using System.Diagnostics.CodeAnalysis;

namespace Marketplace;

/// <summary>
/// An expected rejection: a stable machine-readable code, the HTTP status it maps to and a human detail.
/// Returned as a value by validation and deciders; turned into RFC 9457 problem+json in one place.
/// </summary>
public sealed record DomainError(string Code, int Status, string Title, string Detail)
{
    public static DomainError InvalidRequest(string detail) => new("invalid-request", 400, "The request is malformed", detail);
    public static DomainError Unavailable(string detail) => new("unavailable", 503, "A dependency is unavailable", detail);
    public static DomainError InvalidQuery(string detail) => new("invalid-query", 400, "Invalid search query", detail);
    public static DomainError InvalidName(string detail) => new("invalid-name", 400, "Invalid package name", detail);
    public static DomainError InvalidVersion(string detail) => new("invalid-version", 400, "Invalid version", detail);
    public static DomainError InvalidDigest(string detail) => new("invalid-digest", 400, "Invalid digest", detail);
    public static DomainError InvalidKey(string detail) => new("invalid-key", 400, "Invalid public key", detail);
    public static DomainError InvalidEnvelope(string detail) => new("invalid-envelope", 400, "Invalid DSSE envelope", detail);
    public static DomainError InvalidStatement(string detail) => new("invalid-statement", 400, "Invalid signed statement", detail);
    public static DomainError InvalidManifest(string detail) => new("invalid-manifest", 400, "Invalid manifest", detail);
    public static DomainError StatementMismatch(string detail) => new("statement-mismatch", 400, "The statement does not match the request", detail);
    public static DomainError BadSignature(string detail) => new("bad-signature", 400, "The signature does not verify", detail);
    public static DomainError StaleStatement(string detail) => new("stale-statement", 400, "The statement is not fresh", detail);
    public static DomainError ReplayedStatement() =>
        new("replayed-statement", 409, "The statement was already accepted", "A signed statement is accepted once; sign a new one.");
    public static DomainError DigestMismatch(string detail) => new("digest-mismatch", 400, "The blob does not match its digest", detail);
    public static DomainError BlobMissing(string sha256) => new("blob-missing", 400, "The blob was not uploaded",
        $"No uploaded blob has digest {sha256}; send it inline or upload it first through POST /v1/uploads.");
    public static DomainError TooLarge(string detail) => new("too-large", 413, "Too large", detail);
    public static DomainError NotFound(string detail) => new("not-found", 404, "Not found", detail);
    public static DomainError VersionExists(string name, string version) => new("version-exists", 409, "The version already exists",
        $"{name} {version} is already published; versions are immutable, publish a new one.");
    public static DomainError NotOwner(string name, string keyId) =>
        new("not-owner", 403, "The key is not an owner", $"Key {keyId} is not an owner of {name}.");
    public static DomainError LastOwner(string name) =>
        new("last-owner", 409, "A package keeps one owner", $"Removing this key would leave {name} without an owner.");
    public static DomainError Conflict(string detail) => new("conflict", 409, "Conflict", detail);
    public static DomainError InvalidToken(string detail) => new("invalid-token", 401, "The ID token is not valid", detail);
    public static DomainError UntrustedPublisher(string detail) => new("untrusted-publisher", 403, "Not a trusted publisher of this package", detail);
    public static DomainError TokenReplayed() =>
        new("token-replayed", 409, "The ID token was already exchanged", "An ID token (its jti) is exchanged once; request a new one.");
    public static DomainError InvalidCertificate(string detail) => new("invalid-certificate", 400, "Invalid publisher certificate", detail);
    public static DomainError CertificateExpired(string detail) =>
        new("certificate-expired", 403, "The publisher certificate is not valid now", detail);
    public static DomainError TrustedPublishingRequired(string name) => new("trusted-publishing-required", 403, "Trusted publishing is required",
        $"{name} accepts only publishes from its trusted publishers (a certificate from POST /v1/trusted-publishing/exchange), " +
        "not owner-key-signed ones.");
    public static DomainError BadUrlSignature(string detail) => new("bad-url-signature", 403, "The URL signature is invalid or expired", detail);
}

/// <summary>Either a value or a <see cref="DomainError"/>.</summary>
public readonly record struct Outcome<T>
{
    private Outcome(T? value, DomainError? error) { Value = value; Error = error; }
    public T? Value { get; }
    public DomainError? Error { get; }
    public bool IsError => Error is not null;

    /// <summary>The value, or else the error: <c>if (!outcome.TryGet(out var value, out var error)) return error;</c></summary>
    public bool TryGet([MaybeNullWhen(false)] out T value, [NotNullWhen(false)] out DomainError? error)
    {
        value = Value;
        error = Error;
        return error is null;
    }
    public static implicit operator Outcome<T>(T value) => new(value, null);
    public static implicit operator Outcome<T>(DomainError error) => new(default, error);
}
