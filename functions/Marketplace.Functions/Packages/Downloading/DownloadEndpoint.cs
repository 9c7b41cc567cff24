using Marketplace.Blobs;
using Marketplace.Downloads;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Observability;
using Marketplace.Functions.Protection;
using Marketplace.Packages;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Caching.Memory;

namespace Marketplace.Functions.Packages.Downloading;

public static class DownloadEndpoint
{

    public static IEndpointRouteBuilder MapDownloading(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/packages/{name}/{version}/download", Download)
            .WithName("DownloadVersion")
            .WithSummary("Records a download and redirects (302) to a short-lived URL of the blob; yanked versions still download by exact version.")
            .WithProblems(400, 404, 429, 503)
            .RateLimited(RateLimitedOperation.Download)
            .RateLimited(RateLimitedOperation.PackageDownload);
        return app;
    }

    /// <summary>What a download uses, bound by <c>[AsParameters]</c>.</summary>
    public sealed record DownloadServices(PackageCommands Commands, IMemoryCache Cache, IBlobStore Blobs, DownloadRecorder Recorder,
        Limits Limits, PublicUrls Urls, TimeProvider Time);

    public static async Task<Results<RedirectHttpResult, ProblemHttpResult>> Download(
        string name, string version, HttpContext http, [AsParameters] DownloadServices services, CancellationToken ct)
    {
        var (commands, cache, blobs, recorder, limits, urls, time) = services;
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var nameError)) return nameError.ToProblem();
        if (!SemanticVersion.Parse(version).TryGet(out var semver, out var versionError)) return versionError.ToProblem();

        // A published version's digest never changes, so a found version is cached for good; misses are not.
        var cacheKey = "located:" + normalized + "@" + semver.Key;
        if (!cache.TryGetValue(cacheKey, out PublishedVersion? located))
        {
            var state = await commands.LoadAsync(normalized, ct);
            if (state?.Versions.GetValueOrDefault(semver.Key) is not { } published)
                return DomainError.NotFound($"{normalized} has no version {semver.Key}.").ToProblem();
            located = published;
            cache.Set(cacheKey, located, new MemoryCacheEntryOptions { Size = 128 });
        }

        try
        {
            await recorder.RecordAsync(new Downloaded(normalized, semver.Key, located!.Sha256, time.GetUtcNow()), http.Id(), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            http.Response.Headers.RetryAfter = "1";
            return new DomainError("unavailable", 503, "The download could not be recorded",
                "Retry shortly; no redirect is given for an unrecorded download.").ToProblem();
        }
        MarketplaceMetrics.Downloaded();
        var url = blobs.GetDownloadUrl(located.Sha256, $"{normalized}-{semver.Key}", limits.DownloadUrlLifetime, urls.Base(http));
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Redirect(url.ToString());
    }
}
