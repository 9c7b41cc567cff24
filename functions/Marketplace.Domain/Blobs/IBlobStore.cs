namespace Marketplace.Blobs;

public enum PutOutcome
{
    /// <summary>This call wrote the blob.</summary>
    Stored,
    /// <summary>A blob with this digest was already stored (content addressing makes that the same bytes).</summary>
    AlreadyStored,
    /// <summary>The bytes did not hash to the digest; nothing was stored.</summary>
    DigestMismatch,
    /// <summary>No staged upload carries that digest.</summary>
    NotUploaded,
}

/// <summary>A presigned upload: PUT the bytes to <see cref="Url"/> with exactly <see cref="Headers"/>.</summary>
public sealed record PresignedUpload(Uri Url, IReadOnlyDictionary<string, string> Headers, DateTimeOffset ExpiresAt);

/// <summary>
/// Content-addressed blob storage (keys <c>sha256/ab/abcdef…</c>). Large blobs are uploaded by clients into a
/// staging area through a presigned PUT and promoted into place by a publish, so unpublished uploads never
/// appear as published blobs.
/// </summary>
public interface IBlobStore
{
    /// <summary>Stores <paramref name="content"/> under its digest after checking that it hashes to it.</summary>
    Task<PutOutcome> PutAsync(string sha256, ReadOnlyMemory<byte> content, CancellationToken ct);

    /// <summary>Moves a staged upload into place after checking its digest and size.</summary>
    Task<PutOutcome> PromoteUploadAsync(string sha256, long size, CancellationToken ct);

    Task<bool> ExistsAsync(string sha256, CancellationToken ct);

    /// <summary>Removes a blob; only the orphan collector calls it, for blobs no committed event refers to after a grace period.</summary>
    Task DeleteAsync(string sha256, CancellationToken ct);

    /// <summary>A short-lived URL the client is redirected to for download.</summary>
    Uri GetDownloadUrl(string sha256, string fileName, TimeSpan lifetime, Uri requestBase);

    /// <summary>A short-lived presigned PUT into the staging area.</summary>
    PresignedUpload PresignUpload(string sha256, long size, TimeSpan lifetime, Uri requestBase);

    /// <summary>Readiness probe: the store answers.</summary>
    Task<bool> IsReachableAsync(CancellationToken ct);
}

/// <summary>A published blob (not a staged upload) and when it was last written.</summary>
public sealed record StoredBlob(string Sha256, DateTimeOffset LastModified);

/// <summary>Lists the published blobs, for the orphan collector (an operator task, never on a request path).</summary>
public interface IBlobInventory
{
    IAsyncEnumerable<StoredBlob> ListAsync(CancellationToken ct);
}

public static class Digest
{
    public static bool IsSha256Hex(string? s) =>
        s is { Length: 64 } && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    public static string BlobKey(string sha256) => $"sha256/{sha256[..2]}/{sha256}";
}
