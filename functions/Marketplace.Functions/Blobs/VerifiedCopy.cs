using System.Security.Cryptography;

namespace Marketplace.Functions.Blobs;

/// <summary>How a staged upload is checked on its way into the content-addressed store, on every remote store.</summary>
internal static class VerifiedCopy
{
    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="spool"/> while hashing it; false unless it is exactly
    /// <paramref name="size"/> bytes with SHA-256 <paramref name="sha256"/> (reading stops at the first byte too many).
    /// </summary>
    public static async Task<bool> CopyAsync(Stream source, Stream spool, long size, string sha256, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, ct)) > 0)
        {
            total += read;
            if (total > size) return false;
            hash.AppendData(buffer, 0, read);
            await spool.WriteAsync(buffer.AsMemory(0, read), ct);
        }
        return total == size && Convert.ToHexStringLower(hash.GetHashAndReset()) == sha256;
    }
}
