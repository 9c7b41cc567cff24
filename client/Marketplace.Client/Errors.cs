namespace Marketplace.Client;

/// <summary>
/// Base of every expected failure the client reports: a stable <see cref="Code"/> that scripts and callers can switch
/// on, so nobody parses messages.
/// </summary>
public abstract class MarketplaceException : Exception
{
    protected MarketplaceException(string code, string message, Exception? innerException = null)
        : base(message, innerException) => Code = code;

    /// <summary>A stable, machine-readable code (the registry's problem code, or the client's own).</summary>
    public string Code { get; }
}

/// <summary>The registry refused a request: its RFC 9457 problem, with the <c>code</c> of API.md.</summary>
public sealed class MarketplaceApiException : MarketplaceException
{
    public MarketplaceApiException(int status, string code, string? title, string? detail, string? problemType, string? correlationId)
        : base(code, $"{title ?? "HTTP " + status} ({code}, {status}){(string.IsNullOrEmpty(detail) ? "" : ": " + detail)}")
    {
        Status = status;
        Title = title;
        Detail = detail;
        ProblemType = problemType;
        CorrelationId = correlationId;
    }

    public int Status { get; }
    public string? Title { get; }
    public string? Detail { get; }
    /// <summary>The problem's <c>type</c> URI, <c>urn:marketplace:problem:&lt;code&gt;</c>.</summary>
    public string? ProblemType { get; }
    /// <summary>The <c>X-Correlation-Id</c> the registry answered with: what its logs are searched by.</summary>
    public string? CorrelationId { get; }

    public bool IsNotFound => Status == 404;
    public bool IsConflict => Status == 409;
}

/// <summary>
/// Something the registry served does not check out (digest, signature, ownership at publish time, a log proof, the
/// registry key). Whatever was being done with it is refused.
/// </summary>
public sealed class VerificationException(string code, string message) : MarketplaceException(code, message);

/// <summary>The dependency graph has no solution: no matching version, a conflict or a cycle, with the path that caused it.</summary>
public sealed class ResolutionException(string code, string message) : MarketplaceException(code, message);

/// <summary>The client's codes for its own checks and resolution failures (the registry's are in API.md).</summary>
public static class ClientErrorCodes
{
    public const string DigestMismatch = "digest-mismatch";
    public const string SizeMismatch = "size-mismatch";
    public const string BadSignature = "bad-signature";
    public const string StatementMismatch = "statement-mismatch";
    public const string NotOwnerAtPublish = "not-owner-at-publish";
    public const string HistoryMismatch = "history-mismatch";
    public const string CheckpointSignature = "checkpoint-signature";
    public const string LogInclusion = "log-inclusion";
    public const string LogConsistency = "log-consistency";
    public const string RegistryKeyChanged = "registry-key-changed";
    public const string LockfileMismatch = "lockfile-mismatch";
    public const string UnsafeArchive = "unsafe-archive";
    public const string NoMatchingVersion = "no-matching-version";
    public const string Conflict = "conflict";
    public const string Cycle = "cycle";
    public const string InvalidRange = "invalid-range";
    public const string UnknownPackage = "unknown-package";
    public const string InvalidName = "invalid-name";
    public const string InvalidCertificate = "invalid-certificate";
    public const string UntrustedPublisherAtPublish = "untrusted-publisher-at-publish";
}
