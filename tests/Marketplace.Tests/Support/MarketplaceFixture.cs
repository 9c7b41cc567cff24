using Alba;
using Amazon.Runtime;
using Amazon.S3;
using Marketplace.Functions.Serverless;
using Marketplace.Testing;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Marketplace.Tests.Support;

/// <summary>Where the suite's real parts are: infra/test exports both; the defaults match infra/lib.sh.</summary>
public static class TestEnvironment
{
    public static string Postgres => TestDatabase.ConnectionString;

    public static string S3 => Environment.GetEnvironmentVariable("MARKETPLACE_TEST_S3") ?? "http://127.0.0.1:4569";

    /// <summary>Azurite's well-known development account (infra/lib.sh ensure_azurite).</summary>
    public static string Azure => Environment.GetEnvironmentVariable("MARKETPLACE_TEST_AZURE")
        ?? "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    public static AmazonS3Client S3Client() => new(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
    {
        ServiceURL = S3,
        ForcePathStyle = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });
}

/// <summary>
/// One marketplace host per fixture, built from a <see cref="HostProfile"/>, on its own PostgreSQL schema (so fixtures
/// run in parallel and counts are exact). A fixture that starts services of its own (a fake Typesense, OIDC issuers)
/// points the host at them through <see cref="ServiceSettingsAsync"/>; one that replaces a service (a clock, a DNS)
/// through <see cref="ConfigureHost"/>.
/// </summary>
public class MarketplaceFixture(HostProfile profile) : IAsyncLifetime
{
    public IAlbaHost Host { get; private set; } = null!;
    public string Schema { get; } = TestDatabase.NewSchema("t_");
    public HostProfile Profile => profile;
    public TestBlobStore Blobs { get; } = TestBlobStore.For(profile.BlobStore);
    public string BlobStoreKind => Blobs.Kind;

    /// <summary>Settings pointing the host at services the fixture started; called once, before the host starts.</summary>
    protected virtual Task<IReadOnlyDictionary<string, string?>> ServiceSettingsAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>());

    public virtual async Task InitializeAsync()
    {
        var settings = await Blobs.CreateAsync();
        foreach (var (k, v) in profile.HostSettings()) settings[k] = v;
        foreach (var (k, v) in await ServiceSettingsAsync()) settings[k] = v;
        settings["ConnectionStrings:Marketplace"] = TestEnvironment.Postgres;
        settings["Marten:Schema"] = Schema;
        // The suite's scenarios search right after the daemon catches up: on the shared PostgreSQL documents that
        // is at once. The embedded index (the app's default) is tested by the search fixtures, which choose it.
        if (!settings.ContainsKey("Typesense:Url")) settings.TryAdd("Search:Adapter", "Postgres");
        settings["Logging:LogLevel:Default"] = "Warning";
        Settings = settings;
        Host = await AlbaHost.For<Program>(b =>
        {
            foreach (var (k, v) in settings) b.UseSetting(k, v);
            ConfigureHost(b);
        });
        if (profile.SchemaFromDbApply) await SchemaCommand.ApplyAsync(Store, CancellationToken.None);
    }

    /// <summary>The settings the host was started with.</summary>
    protected IReadOnlyDictionary<string, string?> Settings { get; private set; } = new Dictionary<string, string?>();

    /// <summary>Another instance on the same schema and blob store: the host's settings with <paramref name="overrides"/>.</summary>
    public async Task<IAlbaHost> StartInstanceAsync(IReadOnlyDictionary<string, string?> overrides)
    {
        var settings = new Dictionary<string, string?>(Settings);
        foreach (var (k, v) in overrides) settings[k] = v;
        return await AlbaHost.For<Program>(b =>
        {
            foreach (var (k, v) in settings) b.UseSetting(k, v);
        });
    }

    /// <summary>For fixtures that replace a service (a clock, an output) on top of the settings.</summary>
    protected virtual void ConfigureHost(IWebHostBuilder builder)
    {
    }

    public virtual async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Blobs.DropAsync();
        await TestDatabase.DropSchemaAsync(Schema);
    }

    public IDocumentStore Store => Host.Services.GetRequiredService<IDocumentStore>();

    public Task WaitForProjectionsAsync() => Host.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));

    /// <summary>
    /// Domain events in the store. Marten's own tombstones (which fill the sequence numbers a failed transaction
    /// reserved, possibly just after the failure answered) are not changes and are left out.
    /// </summary>
    public async Task<long> EventCountAsync()
    {
        await using var session = Store.QuerySession();
        return await session.Events.QueryAllRawEvents().Where(e => e.StreamKey != "mt_tombstone").CountAsync();
    }

    /// <summary>Every stored object, published or staged.</summary>
    public Task<IReadOnlyList<string>> BlobKeysAsync() => Blobs.KeysAsync();
}

/// <summary>The default profile: file blobs in a temporary folder, which tests may read and alter.</summary>
public sealed class FileStoreFixture() : MarketplaceFixture(HostProfile.Default)
{
    public string Root => ((FileBlobs)Blobs).Root;
}

public sealed class S3StoreFixture() : MarketplaceFixture(HostProfile.Default with { BlobStore = "s3" });

public sealed class AzureStoreFixture() : MarketplaceFixture(HostProfile.Default with { BlobStore = "azure" });

/// <summary>A host with the read cache on and a long lifetime: only the daemon's eviction can make reads fresh.</summary>
public sealed class CachedReadsFixture() : MarketplaceFixture(HostProfile.Default with { CacheFor = TimeSpan.FromMinutes(10) });

[CollectionDefinition("cached reads")]
public sealed class CachedReadsCollection : ICollectionFixture<CachedReadsFixture>;

/// <summary>The read cache on for ten minutes and no daemon: only the host's own commits can make cached reads fresh.</summary>
public sealed class CachedReadsNoDaemonFixture() : MarketplaceFixture(HostProfile.Default with { Daemon = false, CacheFor = TimeSpan.FromMinutes(10) });

[CollectionDefinition("cached reads, no daemon")]
public sealed class CachedReadsNoDaemonCollection : ICollectionFixture<CachedReadsNoDaemonFixture>;

[CollectionDefinition("file store")]
public sealed class FileStoreCollection : ICollectionFixture<FileStoreFixture>;

[CollectionDefinition("s3 store")]
public sealed class S3StoreCollection : ICollectionFixture<S3StoreFixture>;

[CollectionDefinition("azure store")]
public sealed class AzureStoreCollection : ICollectionFixture<AzureStoreFixture>;
