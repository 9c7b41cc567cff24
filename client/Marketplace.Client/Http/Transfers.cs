using System.Buffers;
using System.Net;
using System.Security.Cryptography;

namespace Marketplace.Client.Http;

/// <summary>Bytes moved so far out of a total (when known): what a progress bar shows.</summary>
public readonly record struct TransferProgress(long Transferred, long? Total);

/// <summary>
/// A file as a request body, opened anew each time it is sent, so a retried PUT sends it whole again; it reports
/// progress as it goes and never holds more than a buffer of it.
/// </summary>
internal sealed class FileContent : HttpContent
{
    private readonly string _path;
    private readonly long _length;
    private readonly IProgress<TransferProgress>? _progress;

    public FileContent(string path, long length, IProgress<TransferProgress>? progress)
    {
        _path = path;
        _length = length;
        _progress = progress;
        Headers.ContentLength = length;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await Streams.CopyAsync(file, stream, null, _length, _progress, cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }
}

internal static class Streams
{
    public const int BufferSize = 128 * 1024;

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/>, hashing on the way when asked, and refuses to
    /// copy more than <paramref name="maxBytes"/>: a blob is never longer than its signed size.
    /// </summary>
    public static async Task<long> CopyAsync(Stream source, Stream destination, IncrementalHash? hash, long? maxBytes,
        IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), ct)) > 0)
            {
                total += read;
                if (maxBytes is { } max && total > max)
                    throw new VerificationException(ClientErrorCodes.SizeMismatch, $"The blob is longer than its signed size of {max} bytes.");
                hash?.AppendData(buffer, 0, read);
                await destination.WriteAsync(buffer.AsMemory(0, read), ct);
                progress?.Report(new TransferProgress(total, maxBytes));
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>SHA-256 (lowercase hex) and length of a file, read once in buffers.</summary>
    public static async Task<(string Sha256, long Size)> HashFileAsync(string path, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var size = await CopyAsync(file, Stream.Null, hash, null, null, ct);
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }
}
