using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Marketplace.Blobs;

namespace Marketplace.Functions.Blobs;

public sealed class S3BlobOptions
{
    public string Bucket { get; set; } = "";
    /// <summary>An S3-protocol endpoint (s3rver, MinIO); unset means AWS itself in <see cref="Region"/>.</summary>
    public string? ServiceUrl { get; set; }
    public string Region { get; set; } = "us-east-1";
    /// <summary>Static credentials for a local S3 server; unset means the default AWS credential chain.</summary>
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
    /// <summary>When set, downloads redirect to <c>{CdnBaseUrl}/sha256/…</c> (CloudFront with origin access control).</summary>
    public string? CdnBaseUrl { get; set; }
}

/// <summary>Blobs in S3: presigned GETs (or CDN URLs) for downloads, presigned PUTs into <c>uploads/</c> for large blobs.</summary>
public sealed class S3BlobStore : IBlobStore, IBlobInventory, IDisposable
{
    // Made on first use: a function whose routes never touch S3 (reads; downloads behind the CDN) never pays for it.
    private readonly Lazy<AmazonS3Client> _client;
    private AmazonS3Client S3 => _client.Value;
    private readonly S3BlobOptions _options;
    private readonly bool _http;
    private readonly TimeProvider _time;

    public S3BlobStore(S3BlobOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        var config = new AmazonS3Config
        {
            // s3rver stores aws-chunked framing inside objects and ignores flexible checksums: keep both off.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.ServiceUrl is { Length: > 0 } url)
        {
            config.ServiceURL = url;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = options.Region;
            _http = url.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }
        _client = new Lazy<AmazonS3Client>(() => options.AccessKey is { Length: > 0 }
            ? new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config)
            : new AmazonS3Client(config));
    }

    private static string UploadKey(string sha256) => "uploads/" + Digest.BlobKey(sha256);

    public async Task<PutOutcome> PutAsync(string sha256, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        if (Convert.ToHexStringLower(SHA256.HashData(content.Span)) != sha256)
            return PutOutcome.DigestMismatch;
        if (await ExistsAsync(sha256, ct))
            return PutOutcome.AlreadyStored;
        using var body = new MemoryStream(content.ToArray(), writable: false);
        await PutBlobAsync(sha256, body, ct);
        return PutOutcome.Stored;
    }

    private Task<PutObjectResponse> PutBlobAsync(string sha256, Stream body, CancellationToken ct) =>
        S3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = Digest.BlobKey(sha256),
            InputStream = body,
            ContentType = "application/octet-stream",
            UseChunkEncoding = false,
            AutoCloseStream = false,
        }, ct);

    public async Task<PutOutcome> PromoteUploadAsync(string sha256, long size, CancellationToken ct)
    {
        if (await ExistsAsync(sha256, ct))
            return PutOutcome.AlreadyStored;
        GetObjectResponse staged;
        try
        {
            staged = await S3.GetObjectAsync(_options.Bucket, UploadKey(sha256), ct);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return PutOutcome.NotUploaded;
        }
        // Clients upload straight to S3, so the staged bytes are hashed here before they become a blob. They are
        // spooled to a temporary file and put again rather than copied server-side: S3-protocol servers differ
        // in how they read x-amz-copy-source (s3rver does not decode the %2F the SDK writes), a PUT is portable.
        var spool = Path.Combine(Path.GetTempPath(), "mkt-" + Guid.CreateVersion7().ToString("n"));
        try
        {
            using (staged)
            await using (var file = new FileStream(spool, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                if (staged.ContentLength != size)
                    return await Reject(sha256, ct);
                if (!await VerifiedCopy.CopyAsync(staged.ResponseStream, file, size, sha256, ct))
                    return await Reject(sha256, ct);
                file.Position = 0;
                await PutBlobAsync(sha256, file, ct);
            }
        }
        finally
        {
            File.Delete(spool);
        }
        await S3.DeleteObjectAsync(_options.Bucket, UploadKey(sha256), ct);
        return PutOutcome.Stored;
    }

    private async Task<PutOutcome> Reject(string sha256, CancellationToken ct)
    {
        await S3.DeleteObjectAsync(_options.Bucket, UploadKey(sha256), ct);
        return PutOutcome.DigestMismatch;
    }

    public async Task<bool> ExistsAsync(string sha256, CancellationToken ct)
    {
        try
        {
            await S3.GetObjectMetadataAsync(_options.Bucket, Digest.BlobKey(sha256), ct);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public Task DeleteAsync(string sha256, CancellationToken ct) =>
        S3.DeleteObjectAsync(_options.Bucket, Digest.BlobKey(sha256), ct);

    public Uri GetDownloadUrl(string sha256, string fileName, TimeSpan lifetime, Uri requestBase)
    {
        if (_options.CdnBaseUrl is { Length: > 0 } cdn)
            return new Uri($"{cdn.TrimEnd('/')}/{Digest.BlobKey(sha256)}");
        var request = new GetPreSignedUrlRequest
        {
            BucketName = _options.Bucket,
            Key = Digest.BlobKey(sha256),
            Verb = HttpVerb.GET,
            Expires = _time.GetUtcNow().UtcDateTime.Add(lifetime),
            Protocol = _http ? Protocol.HTTP : Protocol.HTTPS,
        };
        request.ResponseHeaderOverrides.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        return new Uri(S3.GetPreSignedURL(request));
    }

    public PresignedUpload PresignUpload(string sha256, long size, TimeSpan lifetime, Uri requestBase)
    {
        var expires = _time.GetUtcNow().UtcDateTime.Add(lifetime);
        var request = new GetPreSignedUrlRequest
        {
            BucketName = _options.Bucket,
            Key = UploadKey(sha256),
            Verb = HttpVerb.PUT,
            Expires = expires,
            ContentType = "application/octet-stream",
            Protocol = _http ? Protocol.HTTP : Protocol.HTTPS,
        };
        // Signed into the URL (X-Amz-SignedHeaders): S3 refuses a PUT of another length, and checks the body against
        // the SHA-256, so a URL cannot be used to store anything but the announced blob.
        var checksum = Convert.ToBase64String(Convert.FromHexString(sha256));
        request.Headers.ContentLength = size;
        request.Headers["x-amz-checksum-sha256"] = checksum;
        var url = S3.GetPreSignedURL(request);
        return new PresignedUpload(new Uri(url), new Dictionary<string, string>
        {
            ["Content-Type"] = "application/octet-stream",
            ["Content-Length"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["x-amz-checksum-sha256"] = checksum,
        }, new DateTimeOffset(expires, TimeSpan.Zero));
    }

    public async IAsyncEnumerable<StoredBlob> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        // ListObjects (v1) with markers: s3rver mishandles truncated ListObjectsV2 pages.
        string? marker = null;
        for (var page = 0; page < 1_000_000; page++)
        {
            var list = await S3.ListObjectsAsync(
                new ListObjectsRequest { BucketName = _options.Bucket, Prefix = "sha256/", Marker = marker, MaxKeys = 1000 }, ct);
            var objects = list.S3Objects ?? [];
            foreach (var o in objects)
            {
                var name = o.Key[(o.Key.LastIndexOf('/') + 1)..];
                if (Digest.IsSha256Hex(name) && o.LastModified is { } modified)
                    yield return new StoredBlob(name, new DateTimeOffset(modified.ToUniversalTime(), TimeSpan.Zero));
            }
            if (list.IsTruncated != true || objects.Count == 0) yield break;
            marker = list.NextMarker ?? objects[^1].Key;
        }
    }

    public async Task<bool> IsReachableAsync(CancellationToken ct)
    {
        try
        {
            // ListObjects (v1): s3rver answers a truncated ListObjectsV2 (a bucket of two or more objects) with a 500.
            await S3.ListObjectsAsync(new ListObjectsRequest { BucketName = _options.Bucket, MaxKeys = 1 }, ct);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.Forbidden && e.ErrorCode == "AccessDenied")
        {
            // S3 answered and the bucket exists; this function's role may not list it, by design (least privilege).
            return true;
        }
        catch (AmazonServiceException)
        {
            return false;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (_client.IsValueCreated) _client.Value.Dispose();
    }
}
