using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json;
using Marketplace.Signing;

namespace Marketplace.Client.Http;

/// <summary>
/// The publish body <c>{envelope, publicKey, blob}</c> with the blob read from its file and base64-encoded while it is
/// sent: the body of an inline publish (up to the registry's inline limit) is never built in memory, and a retry
/// sends it again from the file.
/// </summary>
internal sealed class InlinePublishContent : HttpContent
{
    // A multiple of 3, so every chunk but the last encodes without padding.
    private const int ChunkBytes = 48 * 1024;
    private readonly byte[] _prefix;
    private readonly string _path;
    private readonly long _size;
    private static readonly byte[] Suffix = "\"}"u8.ToArray();

    public InlinePublishContent(DsseEnvelope envelope, string publicKey, string path, long size, DsseEnvelope? certificate = null)
    {
        _prefix = Encoding.UTF8.GetBytes(
            "{\"envelope\":" + JsonSerializer.Serialize(envelope, ClientJson.Options) +
            (certificate is null ? "" : ",\"certificate\":" + JsonSerializer.Serialize(certificate, ClientJson.Options)) +
            ",\"publicKey\":" + JsonSerializer.Serialize(publicKey, ClientJson.Options) + ",\"blob\":\"");
        _path = path;
        _size = size;
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(_prefix, cancellationToken);
        var input = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        var output = ArrayPool<byte>.Shared.Rent(Base64.GetMaxEncodedToUtf8Length(ChunkBytes));
        try
        {
            await using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            long total = 0;
            while (true)
            {
                var read = await file.ReadAtLeastAsync(input.AsMemory(0, ChunkBytes), ChunkBytes, throwOnEndOfStream: false, cancellationToken);
                if (read == 0) break;
                total += read;
                if (total > _size)
                    throw new InvalidOperationException($"{_path} grew while it was being published.");
                Base64.EncodeToUtf8(input.AsSpan(0, read), output, out _, out var written, isFinalBlock: read < ChunkBytes);
                await stream.WriteAsync(output.AsMemory(0, written), cancellationToken);
                if (read < ChunkBytes) break;
            }
            if (total != _size)
                throw new InvalidOperationException($"{_path} changed size while it was being published.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
        }
        await stream.WriteAsync(Suffix, cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _prefix.Length + (_size + 2) / 3 * 4 + Suffix.Length;
        return true;
    }
}
