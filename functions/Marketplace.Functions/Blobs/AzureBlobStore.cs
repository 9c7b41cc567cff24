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
}

/// <summary>
/// Blobs in Azure Blob Storage: short-lived read SAS URLs for downloads, create-only SAS URLs into <c>uploads/</c>
/// for large blobs, promoted into place after the staged bytes are hashed here.
/// </summary>
public sealed class AzureBlobStore : IBlobStore, IBlobInventory
{
    private readonly BlobContainerClient _container;
    private readonly TimeProvider _time;
    private readonly bool _http;

    public AzureBlobStore(AzureBlobOptions options, TimeProvider time)
    {
        _time = time;
        // Parsing the connection string makes no request: a malformed one fails here, at startup.
        _container = new BlobContainerClient(options.ConnectionString, options.Container);
        if (!_container.CanGenerateSasUri)
            throw new InvalidOperationException("Blobs:Azure:ConnectionString carries no account key: it cannot sign SAS URLs.");
        _http = _container.Uri.Scheme == Uri.UriSchemeHttp;
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
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await download.Content.ReadAsync(buffer, ct)) > 0)
                {
                    total += read;
                    if (total > size) return await Reject(staged, ct);
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                }
                if (total != size || Convert.ToHexStringLower(hash.GetHashAndReset()) != sha256)
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
        var sas = Sas(Digest.BlobKey(sha256), BlobSasPermissions.Read, lifetime);
        sas.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        sas.ContentType = "application/octet-stream";
        return _container.GetBlobClient(Digest.BlobKey(sha256)).GenerateSasUri(sas);
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
