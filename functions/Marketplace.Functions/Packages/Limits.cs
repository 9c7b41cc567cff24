namespace Marketplace.Functions.Packages;

/// <summary>Input bounds, listed at <c>/.well-known/marketplace</c>.</summary>
public sealed class Limits
{
    /// <summary>Inline blobs: 3 MiB, so the base64 body still fits a 6 MB Lambda request.</summary>
    public long MaxInlineBlobBytes { get; set; } = 3 * 1024 * 1024;
    /// <summary>Uploaded blobs (presigned PUT).</summary>
    public long MaxBlobBytes { get; set; } = 512L * 1024 * 1024;
    /// <summary>A publish request: base64 of the inline blob plus the envelope, under the 6 MB Lambda cap.</summary>
    public long MaxPublishRequestBytes { get; set; } = 6_000_000;
    /// <summary>Every other JSON request (yank, owners, uploads).</summary>
    public long MaxRequestBytes { get; set; } = 512 * 1024;
    public TimeSpan DownloadUrlLifetime { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan UploadUrlLifetime { get; set; } = TimeSpan.FromMinutes(15);
}
