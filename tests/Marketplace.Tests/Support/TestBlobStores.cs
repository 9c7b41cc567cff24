using Amazon.S3.Model;

namespace Marketplace.Tests.Support;

/// <summary>A host's blob store under test: made before the host starts, listed by tests, removed after.</summary>
public abstract class TestBlobStore
{
    /// <summary>The store's <c>Blobs:Store</c> value, as <c>/.well-known</c> names it.</summary>
    public abstract string Kind { get; }

    /// <summary>Makes the store (a folder, a bucket, a container) and answers the host's settings for it.</summary>
    public abstract Task<Dictionary<string, string?>> CreateAsync();

    /// <summary>Every stored object, published or staged, in ordinal order.</summary>
    public abstract Task<IReadOnlyList<string>> KeysAsync();

    public virtual Task DropAsync() => Task.CompletedTask;

    public static TestBlobStore For(string kind) => kind switch
    {
        "file" => new FileBlobs(),
        "s3" => new S3Blobs(),
        "azure" => new AzureBlobs(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "file, s3 or azure"),
    };
}

public sealed class FileBlobs : TestBlobStore
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "mkt-blobs-" + Guid.NewGuid().ToString("n")[..12]);
    public override string Kind => "file";

    public override Task<Dictionary<string, string?>> CreateAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Blobs:Store"] = "file",
        ["Blobs:File:Root"] = Root,
    });

    public override Task<IReadOnlyList<string>> KeysAsync() => Task.FromResult<IReadOnlyList<string>>(
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Root, f))
            .OrderBy(f => f, StringComparer.Ordinal).ToList());

    public override Task DropAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}

public sealed class S3Blobs : TestBlobStore
{
    public string Bucket { get; } = "mkt-" + Guid.NewGuid().ToString("n")[..12];
    public override string Kind => "s3";

    public override async Task<Dictionary<string, string?>> CreateAsync()
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

    public override async Task<IReadOnlyList<string>> KeysAsync()
    {
        using var s3 = TestEnvironment.S3Client();
        var list = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket });
        return (list.S3Objects ?? []).Select(o => o.Key).OrderBy(k => k, StringComparer.Ordinal).ToList();
    }
}

public sealed class AzureBlobs : TestBlobStore
{
    public string Container { get; } = "mkt-" + Guid.NewGuid().ToString("n")[..12];
    public override string Kind => "azure";

    private Azure.Storage.Blobs.BlobContainerClient Client => new(TestEnvironment.Azure, Container);

    public override async Task<Dictionary<string, string?>> CreateAsync()
    {
        await Client.CreateIfNotExistsAsync();
        return new Dictionary<string, string?>
        {
            ["Blobs:Store"] = "azure",
            ["Blobs:Azure:ConnectionString"] = TestEnvironment.Azure,
            ["Blobs:Azure:Container"] = Container,
        };
    }

    public override async Task<IReadOnlyList<string>> KeysAsync()
    {
        var keys = new List<string>();
        await foreach (var blob in Client.GetBlobsAsync()) keys.Add(blob.Name);
        return keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    public override Task DropAsync() => Client.DeleteIfExistsAsync();
}
