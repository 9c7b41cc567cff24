using Marketplace.Blobs;
using Marketplace.Functions.Packages;
using Marketplace.Functions.Serverless;
using Marketplace.Signing;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;
using NSec.Cryptography;

namespace Marketplace.Functions.Registry;

/// <summary>
/// The registry's own Ed25519 key (checkpoints, webhook v1a signatures): a base64 32-byte seed from
/// <c>Registry:SigningKey</c> (local runs; Azure, where a Key Vault reference fills it) or from the AWS Secrets
/// Manager secret named by <c>Registry:SigningKeySecretArn</c> (one SigV4-signed call, as for the database). Without
/// either, only the Development environment makes a throwaway key; any other environment fails at start
/// (<see cref="RegistryKeyCheck"/>) — unless the process says it never signs (<c>Registry:SigningKeyRequired=false</c>,
/// the functions that serve neither /.well-known, checkpoints nor webhook deliveries), where using the key throws.
/// </summary>
public sealed class RegistryKey : IDisposable
{
    public const string SeedKey = "Registry:SigningKey";
    public const string SecretArnKey = "Registry:SigningKeySecretArn";
    public const string RequiredKey = "Registry:SigningKeyRequired";

    private readonly Key? _key;
    private readonly OwnerKey? _public;

    public RegistryKey(IConfiguration configuration, IHostEnvironment environment)
        : this(Seed(configuration, environment, arn => DatabaseConnection.ReadSecret(arn, configuration["Registry:SecretsEndpoint"], credentials: null)))
    {
    }

    private RegistryKey(string? seed)
    {
        if (seed is null) return;
        var creation = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None };
        _key = seed.Length > 0
            ? Key.Import(SignatureAlgorithm.Ed25519, Convert.FromBase64String(seed), KeyBlobFormat.RawPrivateKey, creation)
            : new Key(SignatureAlgorithm.Ed25519, creation);
        var raw = _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        _public = new OwnerKey(OwnerKey.KeyIdOf(raw), Convert.ToBase64String(raw));
    }

    /// <summary>
    /// The seed: configured, read from the secret, "" for a throwaway key (Development only), or null where the
    /// process holds no key by declaration. Throws, naming the settings, where a key is needed and none is given.
    /// </summary>
    public static string? Seed(IConfiguration configuration, IHostEnvironment environment, Func<string, string> readSecret)
    {
        if (configuration[SeedKey] is { Length: > 0 } seed) return seed.Trim();
        if (configuration[SecretArnKey] is { Length: > 0 } arn) return readSecret(arn).Trim();
        if (environment.IsDevelopment()) return "";
        if (!configuration.GetValue(RequiredKey, true)) return null;
        throw new InvalidOperationException(
            $"The registry signing key is not configured (environment {environment.EnvironmentName}): set {SeedKey} (a base64 32-byte Ed25519 seed; " +
            $"on Azure a Key Vault reference) or {SecretArnKey} (an AWS Secrets Manager secret holding it). Clients pin this key, so a " +
            $"throwaway one is made only in Development; a process that never signs says so with {RequiredKey}=false.");
    }

    public static RegistryKey FromSeed(string? seed) => new(seed);

    public bool Present => _key is not null;

    public Key Key => _key ?? throw Absent();
    public OwnerKey Public => _public ?? throw Absent();

    private static InvalidOperationException Absent() =>
        new($"This process holds no registry signing key ({RequiredKey}=false): route what signs to a function that has {SeedKey} or {SecretArnKey}.");

    public void Dispose() => _key?.Dispose();
}

/// <summary>Builds the registry key when the host starts, so a missing key stops the start, not the first checkpoint.</summary>
public sealed class RegistryKeyCheck(RegistryKey key, ILogger<RegistryKeyCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (key.Present) logger.LogInformation("Registry key {KeyId} loaded.", key.Public.KeyId);
        else logger.LogInformation("No registry key in this process ({Setting}=false).", RegistryKey.RequiredKey);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public sealed record WellKnown(string ApiVersion, IReadOnlyList<OwnerKey> RegistryKeys, object Limits, IReadOnlyList<string> Features, string BlobStore);

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
             "search", search switch { Search.Postgres.PostgresSearch => "search-postgres", Search.Embedded.EmbeddedSearch => "search-embedded", _ => "search-typesense" },
             "search-suggest", "audit-feed", "transparency-log",
             "webhooks-standard-v1", "cloudevents-1.0", "trusted-publishing"],
            blobs switch { Blobs.S3BlobStore => "s3", Blobs.AzureBlobStore => "azure", _ => "file" }));

    private static async Task<Results<Ok<object>, ProblemHttpResult>> Ready(IDocumentStore store, IBlobStore blobs, Search.IPackageSearch search, CancellationToken ct)
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
            Detail = $"postgresql: {(database ? "up" : "down")}, blob store: {(blobStore ? "up" : "down")}, search: {(searchIndex ? "up" : "loading")}",
            Extensions = { ["code"] = "unavailable" },
        });
    }
}
