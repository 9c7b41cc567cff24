using Marketplace.Blobs;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Observability;
using Marketplace.Functions.Protection;
using Marketplace.Packages;
using Marketplace.Signing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Packages.Publishing;

public sealed record PublishRequest(DsseEnvelope? Envelope, string? PublicKey, string? Blob, DsseEnvelope? Certificate = null) : ISignedBody;

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
        string name, string version, [AsParameters] SignedInput input, PackageCommands commands, IBlobStore blobs,
        Registry.RegistryKey registryKey, CancellationToken ct)
    {
        var (http, limits, time, keyLimits) = input;
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var nameError)) return nameError.ToProblem();
        if (!SemanticVersion.Parse(version).TryGet(out var semver, out var versionError)) return versionError.ToProblem();

        var read = await SignedStatements.ReadAsync<PublishRequest, PublishStatement>(http, limits.MaxPublishRequestBytes, PayloadTypes.Publish,
            RateLimitedOperation.Publish, time, keyLimits, ct);
        if (!read.TryGet(out var signed, out var readError)) return readError.ToProblem();
        var (request, (statement, signer, envelope, statementId)) = signed;

        if (PackageStatements.CheckPublish(statement, name, semver, limits.MaxBlobBytes) is { } mismatch) return mismatch.ToProblem();
        PackageDecider.CertifiedKey? certified = null;
        if (request.Certificate is { } certificate)
        {
            var certify = PackageStatements.Certify(certificate, normalized, signer, registryKey.Public, time.GetUtcNow());
            if (!certify.TryGet(out var certifiedKey, out var certificateError)) return certificateError.ToProblem();
            certified = certifiedKey;
        }

        byte[]? inline = null;
        if (request.Blob is not null)
        {
            if (request.Blob.Length > (limits.MaxInlineBlobBytes + 2) / 3 * 4)
                return DomainError.TooLarge(
                    $"Inline blobs are at most {limits.MaxInlineBlobBytes} bytes; upload larger ones through POST /v1/uploads.").ToProblem();
            inline = new byte[request.Blob.Length / 4 * 3 + 3];
            if (!Convert.TryFromBase64String(request.Blob, inline, out var written))
                return DomainError.InvalidRequest("blob is not valid base64.").ToProblem();
            inline = inline[..written];
            if (inline.LongLength != statement.Size)
                return DomainError.DigestMismatch($"The blob has {inline.LongLength} bytes; the statement says {statement.Size}.").ToProblem();
            // Its SHA-256 is checked once, by the blob store, before anything is written.
        }

        var command = new PackageDecider.Publish(normalized, name, semver, statement.Sha256, statement.Size, statement.Manifest, signer, envelope)
        {
            Certified = certified,
        };
        var outcome = await commands.HandleAsync(
            normalized,
            new StatementReceipt(statementId, PayloadTypes.Publish, normalized, signer.KeyId, default),
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
        if (!outcome.TryGet(out var appended, out var refused)) return refused.ToProblem();
        MarketplaceMetrics.Published();

        var key = semver.Key;
        return TypedResults.Created($"/v1/packages/{normalized}/{key}",
            new PublishResponse(normalized, semver.Text, statement.Sha256, appended.Sequence));
    }
}
