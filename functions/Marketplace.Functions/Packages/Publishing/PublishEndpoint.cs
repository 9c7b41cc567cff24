using Marketplace.Blobs;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Observability;
using Marketplace.Functions.Protection;
using Marketplace.Packages;
using Marketplace.Signing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Packages.Publishing;

public sealed record PublishRequest(DsseEnvelope? Envelope, string? PublicKey, string? Blob, DsseEnvelope? Certificate = null);

public sealed record PublishResponse(string Name, string Version, string Sha256, long Sequence);

public static class PublishEndpoint
{
    public static IEndpointRouteBuilder MapPublishing(this IEndpointRouteBuilder app)
    {
        app.MapPut("/v1/packages/{name}/{version}", Publish)
            .WithName("PublishVersion")
            .WithSummary("Publishes a new immutable version from a signed publish statement, with the blob inline or already uploaded.")
            .Accepts<PublishRequest>("application/json")
            .WithProblems(400, 403, 409, 413, 415, 429)
            .RateLimited(RateLimitedOperation.Publish)
            .WithRequestTimeout(ProtectionServices.PublishTimeout);
        return app;
    }

    public static async Task<Results<Created<PublishResponse>, ProblemHttpResult>> Publish(
        string name, string version, HttpContext http, PackageCommands commands, IBlobStore blobs, Limits limits, TimeProvider time,
        KeyRateLimiter keyLimits, Registry.RegistryKey registryKey, CancellationToken ct)
    {
        var normalized = PackageName.Normalize(name);
        if (normalized.Error is { } nameError) return nameError.ToProblem();
        var semver = SemanticVersion.Parse(version);
        if (semver.Error is { } versionError) return versionError.ToProblem();

        var body = await BoundedJson.ReadAsync<PublishRequest>(http.Request, limits.MaxPublishRequestBytes, ct);
        if (body.Error is { } bodyError) return bodyError.ToProblem();
        var request = body.Value!;

        var verified = StatementVerifier.Verify<PublishStatement>(request.Envelope, request.PublicKey, PayloadTypes.Publish, time.GetUtcNow());
        if (verified.Error is { } statementError) return statementError.ToProblem();
        var (statement, signer, envelope, statementId) = verified.Value!;
        if (keyLimits.Charge(http, RateLimitedOperation.Publish, signer.KeyId, statementId) is { } limited) return limited.ToProblem();

        if (Check(statement, name, semver.Value!, limits) is { } mismatch) return mismatch.ToProblem();
        var certified = Certified(request.Certificate, normalized.Value!, signer, registryKey, time.GetUtcNow());
        if (certified.Error is { } certificateError) return certificateError.ToProblem();

        byte[]? inline = null;
        if (request.Blob is not null)
        {
            if (request.Blob.Length > (limits.MaxInlineBlobBytes + 2) / 3 * 4)
                return DomainError.TooLarge($"Inline blobs are at most {limits.MaxInlineBlobBytes} bytes; upload larger ones through POST /v1/uploads.").ToProblem();
            inline = new byte[request.Blob.Length / 4 * 3 + 3];
            if (!Convert.TryFromBase64String(request.Blob, inline, out var written))
                return DomainError.InvalidRequest("blob is not valid base64.").ToProblem();
            inline = inline[..written];
            if (inline.LongLength != statement.Size)
                return DomainError.DigestMismatch($"The blob has {inline.LongLength} bytes; the statement says {statement.Size}.").ToProblem();
            // Its SHA-256 is checked once, by the blob store, before anything is written.
        }

        var command = new PackageDecider.Publish(normalized.Value!, name, semver.Value!, statement.Sha256, statement.Size, statement.Manifest, signer, envelope)
        {
            Certified = certified.Value,
        };
        var outcome = await commands.HandleAsync(
            normalized.Value!,
            new StatementReceipt(statementId, PayloadTypes.Publish, normalized.Value!, signer.KeyId, default),
            http.Id(),
            (state, now) => PackageDecider.Decide(state, command, now),
            async token =>
            {
                // A blob placed here stays even if the publish then loses: see OrphanBlobCollector.
                var placed = inline is not null
                    ? await blobs.PutAsync(statement.Sha256, inline, token)
                    : await blobs.PromoteUploadAsync(statement.Sha256, statement.Size, token);
                return placed switch
                {
                    PutOutcome.NotUploaded => DomainError.BlobMissing(statement.Sha256),
                    PutOutcome.DigestMismatch => DomainError.DigestMismatch(inline is not null
                        ? $"The blob does not hash to {statement.Sha256}."
                        : $"The uploaded blob does not hash to {statement.Sha256} with size {statement.Size}."),
                    _ => null,
                };
            },
            ct);
        if (outcome.Error is { } refused) return refused.ToProblem();
        MarketplaceMetrics.Published();

        var key = semver.Value!.Key;
        return TypedResults.Created($"/v1/packages/{normalized.Value}/{key}",
            new PublishResponse(normalized.Value!, semver.Value.Text, statement.Sha256, outcome.Value!.Sequence));
    }

    /// <summary>
    /// Trusted publishing: a certificate signed by this registry's key, within its window, for this package and the key
    /// that signed the statement. (Whether its publisher is still trusted is the decider's call.)
    /// </summary>
    private static Outcome<PackageDecider.CertifiedKey?> Certified(DsseEnvelope? envelope, string name, OwnerKey signer, Registry.RegistryKey registry, DateTimeOffset now)
    {
        if (envelope is null) return (PackageDecider.CertifiedKey?)null;
        var verified = Marketplace.TrustedPublishing.PublisherCertificate.Verify(envelope, registry.Public, now);
        if (verified.Error is { } error) return error;
        var certificate = verified.Value!;
        if (certificate.Name != name)
            return DomainError.InvalidCertificate($"the certificate is for package {certificate.Name}, not {name}.");
        if (certificate.KeyId != signer.KeyId || certificate.PublicKey != signer.PublicKey)
            return DomainError.InvalidCertificate($"the certificate is for key {certificate.KeyId}; the statement is signed by {signer.KeyId}.");
        return new PackageDecider.CertifiedKey(certificate, envelope);
    }

    private static DomainError? Check(PublishStatement s, string pathName, SemanticVersion version, Limits limits)
    {
        // Exact spelling: the first publish's spelling is the package's display name, so it is signed as such.
        if (s.Name != pathName)
            return DomainError.StatementMismatch($"The statement names '{s.Name}', the path '{pathName}'; sign the spelling you publish.");
        if (s.Version != version.Text)
            return DomainError.StatementMismatch($"The statement names version '{s.Version}', the path '{version.Text}'.");
        if (!Digest.IsSha256Hex(s.Sha256))
            return DomainError.InvalidDigest("sha256 must be 64 lowercase hex characters.");
        if (s.Size <= 0)
            return DomainError.InvalidStatement("size must be a positive byte count.");
        if (s.Size > limits.MaxBlobBytes)
            return DomainError.TooLarge($"Blobs are at most {limits.MaxBlobBytes} bytes.");
        return ManifestRules.Validate(s.Manifest);
    }
}
