using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Marketplace.Blobs;

namespace Marketplace.Functions.Blobs;

public sealed class FileBlobOptions
{
    /// <summary>Folder holding <c>sha256/…</c> (published blobs) and <c>uploads/…</c> (staged uploads).</summary>
    public string Root { get; set; } = ".data/blobs";

    /// <summary>Base64 HMAC key (≥ 32 bytes) for signed URLs; one per process when unset (fine for one instance).</summary>
    public string? UrlKey { get; set; }
}

/// <summary>
/// Blobs as files, served by the app itself through HMAC-signed, expiring URLs. Writes go to a temporary
/// file, are flushed to disk and then renamed into place, so a blob is either whole or absent.
/// </summary>
public sealed class FileBlobStore : IBlobStore, IBlobInventory
{
    private readonly string _root;
    private readonly byte[] _urlKey;
    private readonly TimeProvider _time;

    public FileBlobStore(FileBlobOptions options, string contentRoot, TimeProvider time)
    {
        _time = time;
        _root = Path.GetFullPath(Path.Combine(contentRoot, options.Root));
        _urlKey = options.UrlKey is { Length: > 0 } k ? Convert.FromBase64String(k) : RandomNumberGenerator.GetBytes(32);
        if (_urlKey.Length < 32)
            throw new InvalidOperationException("Blobs:File:UrlKey must be at least 32 bytes of base64.");
        Directory.CreateDirectory(Path.Combine(_root, "tmp"));
    }

    public string Root => _root;

    private string BlobPath(string sha256) => Path.Combine(_root, Digest.BlobKey(sha256));
    private string UploadPath(string sha256) => Path.Combine(_root, "uploads", Digest.BlobKey(sha256));

    public async Task<PutOutcome> PutAsync(string sha256, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        if (Convert.ToHexStringLower(SHA256.HashData(content.Span)) != sha256)
            return PutOutcome.DigestMismatch;
        var path = BlobPath(sha256);
        if (File.Exists(path))
            return PutOutcome.AlreadyStored;
        var tmp = TempPath();
        // Writing and fsync block (Linux has no asynchronous fsync for .NET): they run on the store's own threads,
        // never on a thread-pool thread, and the publish waits for the blob to be on disk.
        await DurableWriter.WriteAsync(tmp, content);
        return MoveIntoPlace(tmp, path);
    }

    /// <summary>Receives a presigned upload into the staging area, hashing while it streams.</summary>
    public async Task<PutOutcome> ReceiveUploadAsync(string sha256, long size, Stream body, CancellationToken ct)
    {
        var tmp = TempPath();
        try
        {
            long total = 0;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = await body.ReadAsync(buffer, ct)) > 0)
                {
                    total += read;
                    if (total > size) return PutOutcome.DigestMismatch;
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                }
                file.Flush(flushToDisk: true);
            }
            if (total != size || Convert.ToHexStringLower(hash.GetHashAndReset()) != sha256)
                return PutOutcome.DigestMismatch;
            var staged = UploadPath(sha256);
            Directory.CreateDirectory(Path.GetDirectoryName(staged)!);
            File.Move(tmp, staged, overwrite: true);
            return PutOutcome.Stored;
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    public Task<PutOutcome> PromoteUploadAsync(string sha256, long size, CancellationToken ct)
    {
        var path = BlobPath(sha256);
        var staged = UploadPath(sha256);
        if (File.Exists(path))
            return Task.FromResult(PutOutcome.AlreadyStored);
        if (!File.Exists(staged))
            return Task.FromResult(PutOutcome.NotUploaded);
        // Only this app writes the staging area, and it checked the digest while receiving.
        if (new FileInfo(staged).Length != size)
            return Task.FromResult(PutOutcome.DigestMismatch);
        return Task.FromResult(MoveIntoPlace(staged, path));
    }

    public Task<bool> ExistsAsync(string sha256, CancellationToken ct) => Task.FromResult(File.Exists(BlobPath(sha256)));

    public Task DeleteAsync(string sha256, CancellationToken ct)
    {
        File.Delete(BlobPath(sha256));
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<StoredBlob> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var folder = Path.Combine(_root, "sha256");
        if (!Directory.Exists(folder)) yield break;
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            ct.ThrowIfCancellationRequested();
            var name = Path.GetFileName(file);
            if (!Digest.IsSha256Hex(name)) continue;
            yield return new StoredBlob(name, new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero));
        }
        await Task.CompletedTask;
    }

    public FileStream? OpenRead(string sha256) =>
        File.Exists(BlobPath(sha256))
            ? new FileStream(BlobPath(sha256), FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous)
            : null;

    public Task<bool> IsReachableAsync(CancellationToken ct) => Task.FromResult(Directory.Exists(_root));

    public Uri GetDownloadUrl(string sha256, string fileName, TimeSpan lifetime, Uri requestBase)
    {
        var expires = _time.GetUtcNow().Add(lifetime).ToUnixTimeSeconds();
        var sig = Sign($"GET\n{sha256}\n{fileName}\n{expires}");
        return new Uri(requestBase, $"/v1/blobs/sha256/{sha256}?file={Uri.EscapeDataString(fileName)}&expires={expires}&sig={sig}");
    }

    public PresignedUpload PresignUpload(string sha256, long size, TimeSpan lifetime, Uri requestBase)
    {
        var expiresAt = _time.GetUtcNow().Add(lifetime);
        var expires = expiresAt.ToUnixTimeSeconds();
        var sig = Sign($"PUT\n{sha256}\n{size}\n{expires}");
        var url = new Uri(requestBase, $"/v1/blobs/uploads/sha256/{sha256}?size={size}&expires={expires}&sig={sig}");
        // Length and digest are in the signed URL; the receiver refuses another length and hashes what it receives.
        return new PresignedUpload(url, new Dictionary<string, string>
        {
            ["Content-Type"] = "application/octet-stream",
            ["Content-Length"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
            DateTimeOffset.FromUnixTimeSeconds(expires));
    }

    public bool VerifyDownload(string sha256, string fileName, long expires, string? sig) =>
        expires >= _time.GetUtcNow().ToUnixTimeSeconds() && Matches($"GET\n{sha256}\n{fileName}\n{expires}", sig);

    public bool VerifyUpload(string sha256, long size, long expires, string? sig) =>
        expires >= _time.GetUtcNow().ToUnixTimeSeconds() && Matches($"PUT\n{sha256}\n{size}\n{expires}", sig);

    private bool Matches(string message, string? sig) =>
        sig is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(message)), Encoding.ASCII.GetBytes(sig));

    private string Sign(string message) =>
        System.Buffers.Text.Base64Url.EncodeToString(HMACSHA256.HashData(_urlKey, Encoding.UTF8.GetBytes(message)));

    private string TempPath() => Path.Combine(_root, "tmp", Guid.CreateVersion7().ToString("n", CultureInfo.InvariantCulture));

    /// <summary>
    /// Renames <paramref name="source"/> (a finished temp file or staged upload) to the blob's path, or drops it if another
    /// writer got there first.
    /// </summary>
    private static PutOutcome MoveIntoPlace(string source, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            File.Move(source, path, overwrite: false);
            return PutOutcome.Stored;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(source);
            return PutOutcome.AlreadyStored;
        }
    }
}
