using System.Net;
using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using Marketplace.Blobs;

namespace Marketplace.Functions.Blobs;

public sealed class AzureBlobOptions
{
    /// <summary>A storage account connection string with the account key (it signs the SAS URLs); Azurite's in development.</summary>
    public string ConnectionString { get; set; } = "";
    public string Container { get; set; } = "";
    /// <summary>
    /// When set (Azure Front Door in front of the storage account), downloads of published blobs redirect to
    /// <c>{CdnBaseUrl}/{container}/sha256/…</c> with a read SAS that stays the same for a whole
    /// <see cref="AzureBlobStore.CdnUrlBucket"/>, so the CDN can cache it; staged uploads never go through it.
    /// </summary>
    public string? CdnBaseUrl { get; set; }

    /// <summary>https with a host and nothing after it (the CDN forwards the blob's path unchanged); http only on loopback (tests).</summary>
    public static bool IsCdnBaseUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Length == 0 && uri.Query.Length == 0
        && uri.Fragment.Length == 0 && uri.AbsolutePath == "/"
        && !url.Contains('?', StringComparison.Ordinal) && !url.Contains('#', StringComparison.Ordinal)
        && (uri.Scheme == Uri.UriSchemeHttps
            || (uri.Scheme == Uri.UriSchemeHttp && (uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip)))));
}

/// <summary>
/// Blobs in Azure Blob Storage: short-lived read SAS URLs for downloads, create-only SAS URLs into <c>uploads/</c>
/// for large blobs, promoted into place after the staged bytes are hashed here.
/// </summary>
public sealed class AzureBlobStore : IBlobStore, IBlobInventory
{
    /// <summary>
    /// The CDN download URL of a blob is the same for every download within one bucket (whole hours, UTC): its
    /// SAS expires at the end of the bucket after the current one (so it is valid for one to two hours) and tells
    /// the CDN and clients to cache for one bucket, so no cached copy outlives the SAS it was fetched with.
    /// </summary>
    public static readonly TimeSpan CdnUrlBucket = TimeSpan.FromHours(1);

    private readonly BlobContainerClient _container;
    private readonly TimeProvider _time;
    private readonly bool _http;
    private readonly string? _cdn;
    private readonly string _service;

    public AzureBlobStore(AzureBlobOptions options, TimeProvider time)
    {
        _time = time;
        // Parsing the connection string makes no request: a malformed one fails here, at startup.
        _container = new BlobContainerClient(options.ConnectionString, options.Container);
        if (!_container.CanGenerateSasUri)
            throw new InvalidOperationException("Blobs:Azure:ConnectionString carries no account key: it cannot sign SAS URLs.");
        _http = _container.Uri.Scheme == Uri.UriSchemeHttp;
        _cdn = string.IsNullOrWhiteSpace(options.CdnBaseUrl) ? null : options.CdnBaseUrl.TrimEnd('/');
        // The account's URL (Azurite's carries the account name as its first path segment): the part of a blob URL
        // the CDN host replaces.
        _service = _container.Uri.AbsoluteUri.TrimEnd('/')[..^(_container.Name.Length + 1)];
    }

    private static string UploadKey(string sha256) => "uploads/" + Digest.BlobKey(sha256);

    public async Task<PutOutcome> PutAsync(string sha256, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        if (Convert.ToHexStringLower(SHA256.HashData(content.Span)) != sha256)
            return PutOutcome.DigestMismatch;
        if (await ExistsAsync(sha256, ct))
            return PutOutcome.AlreadyStored;
        return await PutBlobAsync(sha256, BinaryData.FromBytes(content).ToStream(), ct);
    }

    private async Task<PutOutcome> PutBlobAsync(string sha256, Stream body, CancellationToken ct)
    {
        try
        {
            // If-None-Match: * makes the write create-only: of two racing writers of one digest, the second is told
            // the blob is there (the same bytes, by content addressing) instead of overwriting it.
            await _container.GetBlobClient(Digest.BlobKey(sha256)).UploadAsync(body, new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            }, ct);
            return PutOutcome.Stored;
        }
        catch (RequestFailedException e) when (e.Status == (int)HttpStatusCode.Conflict || e.Status == (int)HttpStatusCode.PreconditionFailed)
        {
            return PutOutcome.AlreadyStored;
        }
    }

    public async Task<PutOutcome> PromoteUploadAsync(string sha256, long size, CancellationToken ct)
    {
        if (await ExistsAsync(sha256, ct))
            return PutOutcome.AlreadyStored;
        var staged = _container.GetBlobClient(UploadKey(sha256));
        BlobDownloadStreamingResult download;
        try
        {
            download = (await staged.DownloadStreamingAsync(cancellationToken: ct)).Value;
        }
        catch (RequestFailedException e) when (e.Status == (int)HttpStatusCode.NotFound)
        {
            return PutOutcome.NotUploaded;
        }
        // A SAS cannot bind the length or a SHA-256 of the body (Azure checks only an MD5 or CRC64 the client
        // chooses to send), so the staged bytes are hashed here before they become a blob, spooled to a temporary
        // file and written with a create-only condition: nothing a client uploaded is ever served unchecked.
        var spool = Path.Combine(Path.GetTempPath(), "mkt-" + Guid.CreateVersion7().ToString("n"));
        PutOutcome outcome;
        try
        {
            using (download)
            await using (var file = new FileStream(spool, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                if (download.Details.ContentLength != size)
                    return await Reject(staged, ct);
                if (!await VerifiedCopy.CopyAsync(download.Content, file, size, sha256, ct))
                    return await Reject(staged, ct);
                file.Position = 0;
                outcome = await PutBlobAsync(sha256, file, ct);
            }
        }
        finally
        {
            File.Delete(spool);
        }
        await staged.DeleteIfExistsAsync(cancellationToken: ct);
        return outcome;
    }

    private static async Task<PutOutcome> Reject(BlobClient staged, CancellationToken ct)
    {
        await staged.DeleteIfExistsAsync(cancellationToken: ct);
        return PutOutcome.DigestMismatch;
    }

    public async Task<bool> ExistsAsync(string sha256, CancellationToken ct) =>
        (await _container.GetBlobClient(Digest.BlobKey(sha256)).ExistsAsync(ct)).Value;

    public Task DeleteAsync(string sha256, CancellationToken ct) =>
        _container.GetBlobClient(Digest.BlobKey(sha256)).DeleteIfExistsAsync(cancellationToken: ct);

    public Uri GetDownloadUrl(string sha256, string fileName, TimeSpan lifetime, Uri requestBase)
    {
        if (_cdn is not null)
            return CdnDownloadUrl(sha256, fileName);
        var sas = Sas(Digest.BlobKey(sha256), BlobSasPermissions.Read, lifetime);
        sas.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        sas.ContentType = "application/octet-stream";
        return _container.GetBlobClient(Digest.BlobKey(sha256)).GenerateSasUri(sas);
    }

    /// <summary>
    /// The blob's own URL under the CDN host, with a read SAS for that one blob that is the same for every download
    /// within the current <see cref="CdnUrlBucket"/>: Front Door caches by these SAS parameters, so one blob costs
    /// one origin fetch per bucket and edge instead of one per download. The container stays private: Front Door
    /// has no rights of its own, and only requests carrying a SAS the storage account accepts fill its cache.
    /// </summary>
    private Uri CdnDownloadUrl(string sha256, string fileName)
    {
        var now = _time.GetUtcNow().UtcTicks;
        var bucketStart = new DateTimeOffset(now - now % CdnUrlBucket.Ticks, TimeSpan.Zero);
        // No start time: nothing to gain (the blob is public through the API anyway) and a storage clock a little
        // behind ours would refuse a fresh URL.
        var sas = new BlobSasBuilder(BlobSasPermissions.Read, bucketStart + 2 * CdnUrlBucket)
        {
            BlobContainerName = _container.Name,
            BlobName = Digest.BlobKey(sha256),
            Resource = "b",
            Protocol = _http ? SasProtocol.HttpsAndHttp : SasProtocol.Https,
            ContentDisposition = $"attachment; filename=\"{fileName}\"",
            ContentType = "application/octet-stream",
            // A blob's bytes never change (content addressing); the age limit keeps cached copies within the SAS's life.
            CacheControl = $"public, max-age={(long)CdnUrlBucket.TotalSeconds}, immutable",
        };
        var origin = _container.GetBlobClient(Digest.BlobKey(sha256)).GenerateSasUri(sas).AbsoluteUri;
        return new Uri(_cdn + origin[_service.Length..]);
    }

    public PresignedUpload PresignUpload(string sha256, long size, TimeSpan lifetime, Uri requestBase)
    {
        // Create only (no write, no read): the URL can make the one staged blob under this digest's key and
        // cannot overwrite it once made; length and digest are checked when the publish promotes it.
        var sas = Sas(UploadKey(sha256), BlobSasPermissions.Create, lifetime);
        var url = _container.GetBlobClient(UploadKey(sha256)).GenerateSasUri(sas);
        return new PresignedUpload(url, new Dictionary<string, string>
        {
            ["Content-Type"] = "application/octet-stream",
            ["Content-Length"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["x-ms-blob-type"] = "BlockBlob",
        }, sas.ExpiresOn);
    }

    private BlobSasBuilder Sas(string blobName, BlobSasPermissions permissions, TimeSpan lifetime)
    {
        var sas = new BlobSasBuilder(permissions, _time.GetUtcNow().Add(lifetime))
        {
            BlobContainerName = _container.Name,
            BlobName = blobName,
            Resource = "b",
            // HTTPS only on Azure; Azurite answers plain HTTP on loopback.
            Protocol = _http ? SasProtocol.HttpsAndHttp : SasProtocol.Https,
        };
        return sas;
    }

    public async IAsyncEnumerable<StoredBlob> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var blob in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = "sha256/" }, ct))
        {
            var name = blob.Name[(blob.Name.LastIndexOf('/') + 1)..];
            if (Digest.IsSha256Hex(name) && blob.Properties.LastModified is { } modified)
                yield return new StoredBlob(name, modified.ToUniversalTime());
        }
    }

    public async Task<bool> IsReachableAsync(CancellationToken ct)
    {
        try
        {
            return (await _container.ExistsAsync(ct)).Value;
        }
        catch (RequestFailedException e) when (e.Status == (int)HttpStatusCode.Forbidden)
        {
            // The service answered; this identity may not read container properties, by design (least privilege).
            return true;
        }
        catch (RequestFailedException)
        {
            return false;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
