using System.Security.Cryptography;
using System.Text.Json;
using Marketplace.Functions.Infrastructure;
using Marketplace.Packages;
using Marketplace.Projections.Packages;
using Marketplace.Signing;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Caching.Memory;

namespace Marketplace.Functions.Packages.Reading;

public sealed record PackageResponse(string Name, string DisplayName, IReadOnlyList<PackageOwner> Owners,
    IReadOnlyList<PackageVersionEntry> Versions, string? Latest, long Downloads, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    bool RequireTrustedPublishing, IReadOnlyList<PackageTrustedPublisher> TrustedPublishers);

public sealed record VersionResponse(string Name, string Version, PackageManifest Manifest, string Sha256, long Size,
    bool Yanked, string? YankedReason, long Downloads, DateTimeOffset PublishedAt, string KeyId, string PublicKey, DsseEnvelope? Envelope,
    bool SearchVisible, Marketplace.TrustedPublishing.Provenance? Provenance, DsseEnvelope? Certificate);

public sealed class ReadOptions
{
    /// <summary>
    /// How long a serialised read model is served from memory before it is loaded again. This instance's daemon
    /// evicts what it updates at once; the bound matters for download totals and for other instances.
    /// </summary>
    public TimeSpan CacheFor { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>What clients and CDNs may cache (<c>Cache-Control: public, max-age</c>).</summary>
    public TimeSpan ClientMaxAge { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Package and version documents from the async projections, as JSON with a strong ETag.</summary>
public static class ReadEndpoints
{
    private sealed record CachedJson(byte[] Body, string ETag);

    public static IEndpointRouteBuilder MapReading(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/packages/{name}", GetPackage).WithName("GetPackage")
            .WithSummary("The package: display name, owners, versions, latest non-yanked version and download total.")
            .Produces<PackageResponse>().Produces(StatusCodes.Status304NotModified).WithProblems(400, 404);
        app.MapGet("/v1/packages/{name}/{version}", GetVersion).WithName("GetVersion")
            .WithSummary("One version: manifest, digest, size, yanked state, downloads and the envelope as published.")
            .Produces<VersionResponse>().Produces(StatusCodes.Status304NotModified).WithProblems(400, 404);
        return app;
    }

    public static async Task<Results<JsonBytes, StatusCodeHttpResult, ProblemHttpResult>> GetPackage(
        string name, HttpContext http, IDocumentStore store, ReadModels models, IMemoryCache cache, ReadOptions options, CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var error)) return error.ToProblem();
        var json = await Cached(cache, options, ReadCacheInvalidation.PackageKey(normalized), async () =>
            await models.PackageAsync(store, normalized, ct) is var (d, downloads)
                ? new PackageResponse(d.Id, d.DisplayName, d.Owners, d.Versions, d.Latest, downloads, d.CreatedAt, d.UpdatedAt,
                    d.RequireTrustedPublishing, d.TrustedPublishers ?? [])
                : null);
        return json is null
            ? DomainError.NotFound($"Package {normalized} does not exist (or is not visible yet).").ToProblem()
            : Answer(http, json, options);
    }

    public static async Task<Results<JsonBytes, StatusCodeHttpResult, ProblemHttpResult>> GetVersion(
        string name, string version, HttpContext http, IDocumentStore store, ReadModels models, IMemoryCache cache, ReadOptions options,
        CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var nameError)) return nameError.ToProblem();
        if (!SemanticVersion.Parse(version).TryGet(out var semver, out var versionError)) return versionError.ToProblem();
        var id = VersionDocument.IdOf(normalized, semver.Key);
        var json = await Cached(cache, options, ReadCacheInvalidation.VersionKey(id), async () =>
            await models.VersionAsync(store, normalized, semver.Key, ct) is var (d, downloads, searchVisible)
                ? new VersionResponse(d.Name, d.Version, d.Manifest, d.Sha256, d.Size, d.Yanked, d.YankedReason, downloads, d.PublishedAt,
                    d.KeyId, d.PublicKey, d.Envelope, searchVisible, d.Provenance, d.Certificate)
                : null,
            // Not yet in search: the answer changes when the index catches up, which evicts nothing; do not keep it.
            keep: v => v.SearchVisible);
        return json is null
            ? DomainError.NotFound($"{normalized} has no version {semver.Key} (or it is not visible yet).").ToProblem()
            : Answer(http, json, options);
    }

    private static async Task<CachedJson?> Cached<T>(
        IMemoryCache cache, ReadOptions options, string key, Func<Task<T?>> load, Func<T, bool>? keep = null) where T : class
    {
        if (options.CacheFor > TimeSpan.Zero && cache.TryGetValue(key, out CachedJson? hit))
            return hit;
        if (await load() is not { } value)
            return null;
        var body = JsonSerializer.SerializeToUtf8Bytes(value, BoundedJson.Options);
        var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 16))}\"";
        var json = new CachedJson(body, etag);
        if (options.CacheFor > TimeSpan.Zero && (keep is null || keep(value)))
            cache.Set(key, json, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = options.CacheFor, Size = body.Length });
        return json;
    }

    private static Results<JsonBytes, StatusCodeHttpResult, ProblemHttpResult> Answer(HttpContext http, CachedJson json, ReadOptions options)
    {
        var headers = http.Response.Headers;
        headers.ETag = json.ETag;
        headers.CacheControl = $"public, max-age={(int)options.ClientMaxAge.TotalSeconds}";
        // If-None-Match is a comma-separated list (possibly over several header lines) of tags, or "*".
        if (http.Request.Headers.IfNoneMatch.SelectMany(v => (v ?? "").Split(',')).Any(t => t.Trim() is var tag && (tag == json.ETag || tag == "*")))
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        return new JsonBytes(json.Body);
    }
}

/// <summary>Pre-serialised JSON, written as is (the read cache holds bytes, not objects).</summary>
public sealed class JsonBytes(byte[] body) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        httpContext.Response.ContentLength = body.Length;
        return httpContext.Response.Body.WriteAsync(body).AsTask();
    }
}
