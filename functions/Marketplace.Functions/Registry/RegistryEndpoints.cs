using Marketplace.Blobs;
using Marketplace.Functions.Packages;
using Marketplace.Functions.Serverless;
using Marketplace.Signing;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Registry;

public sealed record WellKnown(
    string ApiVersion, IReadOnlyList<OwnerKey> RegistryKeys, object Limits, IReadOnlyList<string> Features, string BlobStore);

public static class RegistryEndpoints
{
    public static IEndpointRouteBuilder MapRegistry(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/marketplace", Describe).WithName("RegistryFacts")
            .WithSummary("Registry facts: API version, registry public keys, limits and enabled features.");
        app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live" })).WithName("Live").WithSummary("The process is up.");
        app.MapGet("/health/ready", Ready).WithName("Ready").WithSummary("PostgreSQL and the blob store answer, and the search index is loaded.");
        return app;
    }

    private static Ok<WellKnown> Describe(RegistryKey key, Limits limits, IBlobStore blobs, Protection.ProtectionOptions protection,
        Search.IPackageSearch search, Transparency.TransparencyLog log) =>
        TypedResults.Ok(new WellKnown(
            "v1",
            [key.Public],
            new
            {
                limits.MaxInlineBlobBytes,
                limits.MaxBlobBytes,
                limits.MaxPublishRequestBytes,
                limits.MaxRequestBytes,
                statementMaxAgeSeconds = (int)StatementVerifier.MaxAge.TotalSeconds,
                statementMaxFutureSkewSeconds = (int)StatementVerifier.MaxFutureSkew.TotalSeconds,
                downloadUrlLifetimeSeconds = (int)limits.DownloadUrlLifetime.TotalSeconds,
                uploadUrlLifetimeSeconds = (int)limits.UploadUrlLifetime.TotalSeconds,
                maxNameLength = Marketplace.Packages.PackageName.MaxLength,
                maxVersionLength = Marketplace.Packages.SemanticVersion.MaxLength,
                rateLimits = protection.Describe(),
                maxSearchLimit = Marketplace.Search.SearchQuery.MaxLimit,
                maxSearchOffset = Marketplace.Search.SearchQuery.MaxOffset,
                maxEventsPerPage = Audit.EventFeedEndpoint.MaxLimit,
                transparencyLog = new { origin = log.Origin, verifierKey = log.VerifierKey },
            },
            ["publish", "inline-blobs", "presigned-uploads", "yank", "owners", "download-redirects", "dsse-ed25519",
             "search", search switch
             {
                 Search.Postgres.PostgresSearch => "search-postgres",
                 Search.Embedded.EmbeddedSearch => "search-embedded",
                 _ => "search-typesense",
             },
             "search-suggest", "audit-feed", "transparency-log",
             "webhooks-standard-v1", "cloudevents-1.0", "trusted-publishing"],
            blobs switch { Blobs.S3BlobStore => "s3", Blobs.AzureBlobStore => "azure", _ => "file" }));

    private static async Task<Results<Ok<object>, ProblemHttpResult>> Ready(
        IDocumentStore store, IBlobStore blobs, Search.IPackageSearch search, CancellationToken ct)
    {
        var database = false;
        try
        {
            await using var session = store.QuerySession();
            database = await session.QueryAsync<int>("select 1", ct) is { Count: 1 };
        }
        catch (Exception e) when (Infrastructure.Problems.IsOutage(e) || e is TimeoutException or InvalidOperationException)
        {
            database = false;
        }
        var blobStore = await blobs.IsReachableAsync(ct);
        // An instance whose embedded search index is still loading would answer searches 503: not ready yet.
        var searchIndex = search.IsReady;
        if (database && blobStore && searchIndex)
            return TypedResults.Ok<object>(new { status = "ready", postgresql = "up", blobStore = "up", search = "up" });
        return TypedResults.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Status = 503,
            Title = "Not ready",
            Type = Infrastructure.Problems.TypePrefix + "unavailable",
            Detail = $"postgresql: {(database ? "up" : "down")}, blob store: {(blobStore ? "up" : "down")}, " +
                $"search: {(searchIndex ? "up" : "loading")}",
            Extensions = { ["code"] = "unavailable" },
        });
    }
}
