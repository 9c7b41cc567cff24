using Marketplace.Blobs;
using Marketplace.Functions.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Blobs;

/// <summary>
/// The file store's own signed URLs: what S3 would serve for presigned GETs and PUTs, served by the app.
/// Mapped only when the file store is in use.
/// </summary>
public static class LocalBlobEndpoints
{
    public static IEndpointRouteBuilder MapLocalBlobs(this IEndpointRouteBuilder app)
    {
        if (app.ServiceProvider.GetService<FileBlobStore>() is null) return app;
        app.MapGet("/v1/blobs/sha256/{sha256}", Download).WithName("DownloadLocalBlob")
            .WithSummary("Serves a blob through a signed, expiring URL (file blob store).").ExcludeFromDescription()
            .DisableRequestTimeout();
        app.MapPut("/v1/blobs/uploads/sha256/{sha256}", Upload).WithName("UploadLocalBlob")
            .WithSummary("Receives a presigned upload (file blob store).").ExcludeFromDescription()
            // Blobs of up to 512 MiB stream through these two: the URL's expiry bounds when one may start, Kestrel's
            // minimum data rate how slowly it may go.
            .DisableRequestTimeout();
        return app;
    }

    private static Results<FileStreamHttpResult, ProblemHttpResult> Download(
        string sha256, string? file, long? expires, string? sig, FileBlobStore store)
    {
        if (!Digest.IsSha256Hex(sha256) || file is null || expires is null || !store.VerifyDownload(sha256, file, expires.Value, sig))
            return DomainError.BadUrlSignature("The download URL is invalid or has expired; ask the registry for a new one.").ToProblem();
        var stream = store.OpenRead(sha256);
        if (stream is null)
            return DomainError.NotFound($"No blob has digest {sha256}.").ToProblem();
        return TypedResults.File(stream, "application/octet-stream", file,
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{sha256}\""));
    }

    private static async Task<Results<Created, ProblemHttpResult>> Upload(
        string sha256, long? size, long? expires, string? sig, HttpRequest request, FileBlobStore store, CancellationToken ct)
    {
        if (!Digest.IsSha256Hex(sha256) || size is null || expires is null || !store.VerifyUpload(sha256, size.Value, expires.Value, sig))
            return DomainError.BadUrlSignature("The upload URL is invalid or has expired; ask POST /v1/uploads for a new one.").ToProblem();
        if (request.ContentLength is { } length && length != size)
            return DomainError.DigestMismatch($"The body has {length} bytes; the upload was signed for {size}.").ToProblem();
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = size;
        var outcome = await store.ReceiveUploadAsync(sha256, size.Value, request.Body, ct);
        return outcome == PutOutcome.Stored
            ? TypedResults.Created()
            : DomainError.DigestMismatch($"The uploaded bytes do not hash to {sha256} with size {size}.").ToProblem();
    }
}
