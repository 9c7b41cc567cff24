using Alba;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Marketplace.Tests.Support;

/// <summary>Where the suite's real parts are: infra/test exports both; the defaults match infra/lib.sh.</summary>
public static class TestEnvironment
{
    public static string Postgres =>
        Environment.GetEnvironmentVariable("MARKETPLACE_TEST_PG")
        ?? "Host=127.0.0.1;Port=5432;Database=marketplace_test;Username=marketplace;Password=marketplace;SSL Mode=Disable;Maximum Pool Size=20";

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
/// One marketplace host per fixture, on its own PostgreSQL schema (so fixtures run in parallel and counts are
/// exact), with the async daemon in-process and the read cache off.
/// </summary>
public abstract class MarketplaceFixture : IAsyncLifetime
{
    public IAlbaHost Host { get; private set; } = null!;
    public string Schema { get; } = "t_" + Guid.NewGuid().ToString("n")[..12];
    public abstract string BlobStoreKind { get; }

    protected abstract Task<Dictionary<string, string?>> BlobSettingsAsync();

    public virtual async Task InitializeAsync()
    {
        var settings = await BlobSettingsAsync();
        settings["ConnectionStrings:Marketplace"] = TestEnvironment.Postgres;
        settings["Marten:Schema"] = Schema;
        settings.TryAdd("Reads:CacheFor", "00:00:00");
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
        await DropBlobsAsync();
        await using var connection = new Npgsql.NpgsqlConnection(TestEnvironment.Postgres);
        await connection.OpenAsync();
        await using var drop = new Npgsql.NpgsqlCommand($"drop schema if exists {Schema} cascade", connection);
        await drop.ExecuteNonQueryAsync();
    }

    protected virtual Task DropBlobsAsync() => Task.CompletedTask;

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
    public abstract Task<IReadOnlyList<string>> BlobKeysAsync();
}

public class FileStoreFixture : MarketplaceFixture
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "mkt-blobs-" + Guid.NewGuid().ToString("n")[..12]);
    public override string BlobStoreKind => "file";

    protected override Task<Dictionary<string, string?>> BlobSettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Blobs:Store"] = "file",
        ["Blobs:File:Root"] = Root,
    });

    public override Task<IReadOnlyList<string>> BlobKeysAsync() => Task.FromResult<IReadOnlyList<string>>(
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Root, f))
            .OrderBy(f => f, StringComparer.Ordinal).ToList());

    protected override Task DropBlobsAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}

public class S3StoreFixture : MarketplaceFixture
{
    public string Bucket { get; } = "mkt-" + Guid.NewGuid().ToString("n")[..12];
    public override string BlobStoreKind => "s3";

    protected override async Task<Dictionary<string, string?>> BlobSettingsAsync()
    {
        using var s3 = TestEnvironment.S3Client();
        await s3.PutBucketAsync(Bucket);
        return new Dictionary<string, string?>
        {
            ["Blobs:Store"] = "s3",
            ["Blobs:S3:Bucket"] = Bucket,
            ["Blobs:S3:ServiceUrl"] = TestEnvironment.S3,
            ["Blobs:S3:AccessKey"] = "S3RVER",
            ["Blobs:S3:SecretKey"] = "S3RVER",
        };
    }

    public override async Task<IReadOnlyList<string>> BlobKeysAsync()
    {
        using var s3 = TestEnvironment.S3Client();
        var list = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket });
        return (list.S3Objects ?? []).Select(o => o.Key).OrderBy(k => k, StringComparer.Ordinal).ToList();
    }
}

public class AzureStoreFixture : MarketplaceFixture
{
    public string Container { get; } = "mkt-" + Guid.NewGuid().ToString("n")[..12];
    public override string BlobStoreKind => "azure";

    private Azure.Storage.Blobs.BlobContainerClient Client => new(TestEnvironment.Azure, Container);

    protected override async Task<Dictionary<string, string?>> BlobSettingsAsync()
    {
        await Client.CreateIfNotExistsAsync();
        return new Dictionary<string, string?>
        {
            ["Blobs:Store"] = "azure",
            ["Blobs:Azure:ConnectionString"] = TestEnvironment.Azure,
            ["Blobs:Azure:Container"] = Container,
        };
    }

    public override async Task<IReadOnlyList<string>> BlobKeysAsync()
    {
        var keys = new List<string>();
        await foreach (var blob in Client.GetBlobsAsync()) keys.Add(blob.Name);
        return keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    protected override Task DropBlobsAsync() => Client.DeleteIfExistsAsync();
}

/// <summary>A host with the read cache on and a long lifetime: only the daemon's eviction can make reads fresh.</summary>
public sealed class CachedReadsFixture : FileStoreFixture
{
    protected override async Task<Dictionary<string, string?>> BlobSettingsAsync()
    {
        var settings = await base.BlobSettingsAsync();
        settings["Reads:CacheFor"] = "00:10:00";
        return settings;
    }
}

[CollectionDefinition("cached reads")]
public sealed class CachedReadsCollection : ICollectionFixture<CachedReadsFixture>;

[CollectionDefinition("file store")]
public sealed class FileStoreCollection : ICollectionFixture<FileStoreFixture>;

[CollectionDefinition("s3 store")]
public sealed class S3StoreCollection : ICollectionFixture<S3StoreFixture>;

[CollectionDefinition("azure store")]
public sealed class AzureStoreCollection : ICollectionFixture<AzureStoreFixture>;
