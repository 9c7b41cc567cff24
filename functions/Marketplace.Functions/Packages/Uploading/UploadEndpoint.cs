using Marketplace.Functions.Protection;
using Marketplace.Blobs;
using Marketplace.Functions.Infrastructure;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Packages.Uploading;

public sealed record UploadRequest(string? Sha256, long? Size);

public sealed record UploadResponse(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UploadUrl,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Headers,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? ExpiresAt,
    bool Exists);

public static class UploadEndpoint
{
    public static IEndpointRouteBuilder MapUploading(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/uploads", Upload)
            .WithName("CreateUpload")
            .WithSummary("Presigns a PUT for a large blob, or says the digest is already stored.")
            .Accepts<UploadRequest>("application/json")
            .WithProblems(400, 413, 415, 429)
            .RateLimited(RateLimitedOperation.Upload);
        return app;
    }

    public static async Task<Results<Created<UploadResponse>, Ok<UploadResponse>, ProblemHttpResult>> Upload(
        HttpContext http, IBlobStore blobs, Limits limits, PublicUrls urls, CancellationToken ct)
    {
        var body = await BoundedJson.ReadAsync<UploadRequest>(http.Request, limits.MaxRequestBytes, ct);
        if (!body.TryGet(out var request, out var error)) return error.ToProblem();
        var (sha256, size) = request;
        if (!Digest.IsSha256Hex(sha256))
            return DomainError.InvalidDigest("sha256 must be 64 lowercase hex characters.").ToProblem();
        if (size is null or <= 0)
            return DomainError.InvalidRequest("size must be a positive byte count.").ToProblem();
        if (size > limits.MaxBlobBytes)
            return DomainError.TooLarge($"Blobs are at most {limits.MaxBlobBytes} bytes.").ToProblem();
        if (await blobs.ExistsAsync(sha256!, ct))
            return TypedResults.Ok(new UploadResponse(null, null, null, Exists: true));
        var upload = blobs.PresignUpload(sha256!, size.Value, limits.UploadUrlLifetime, urls.Base(http));
        return TypedResults.Created((string?)null, new UploadResponse(upload.Url.ToString(), upload.Headers, upload.ExpiresAt, Exists: false));
    }

}
