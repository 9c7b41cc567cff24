using Marketplace.Blobs;
using Marketplace.Functions.Blobs;
using Microsoft.Extensions.Time.Testing;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Blobs;

/// <summary>The file store on a real folder, with time under the test's control.</summary>
public sealed class FileBlobStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mkt-store-" + Guid.NewGuid().ToString("n")[..12]);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly FileBlobStore _store;

    public FileBlobStoreTests() => _store = new FileBlobStore(new FileBlobOptions { Root = _root }, "/", _time);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Dictionary<string, string> Query(Uri url) =>
        url.Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));

    [Fact]
    public void a_signed_download_url_holds_until_it_expires()
    {
        var sha = Sha256(RandomBlob(16));
        var q = Query(_store.GetDownloadUrl(sha, "pkg-1.0.0", TimeSpan.FromMinutes(5), new Uri("http://localhost")));
        var expires = long.Parse(q["expires"], System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(_store.VerifyDownload(sha, "pkg-1.0.0", expires, q["sig"]));
        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.True(_store.VerifyDownload(sha, "pkg-1.0.0", expires, q["sig"]));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.False(_store.VerifyDownload(sha, "pkg-1.0.0", expires, q["sig"]));
    }

    [Fact]
    public void a_signed_upload_url_binds_digest_size_and_expiry()
    {
        var sha = Sha256(RandomBlob(16));
        var q = Query(_store.PresignUpload(sha, 16, TimeSpan.FromMinutes(15), new Uri("http://localhost")).Url);
        var expires = long.Parse(q["expires"], System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(_store.VerifyUpload(sha, 16, expires, q["sig"]));
        Assert.False(_store.VerifyUpload(sha, 17, expires, q["sig"]));
        Assert.False(_store.VerifyUpload(Sha256(RandomBlob(16)), 16, expires, q["sig"]));
        Assert.False(_store.VerifyUpload(sha, 16, expires + 3600, q["sig"]));
        _time.Advance(TimeSpan.FromMinutes(16));
        Assert.False(_store.VerifyUpload(sha, 16, expires, q["sig"]));
    }

    [Fact]
    public async Task blobs_are_content_addressed_whole_and_written_once()
    {
        var blob = RandomBlob(4096);
        var sha = Sha256(blob);
        Assert.Equal(PutOutcome.DigestMismatch, await _store.PutAsync(sha, blob.AsMemory(1), default));
        Assert.False(await _store.ExistsAsync(sha, default));

        Assert.Equal(PutOutcome.Stored, await _store.PutAsync(sha, blob, default));
        Assert.Equal(PutOutcome.AlreadyStored, await _store.PutAsync(sha, blob, default));
        Assert.True(File.Exists(Path.Combine(_root, "sha256", sha[..2], sha)));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "tmp")));
    }

    [Fact]
    public async Task an_upload_that_does_not_hash_to_its_digest_leaves_nothing_behind()
    {
        var blob = RandomBlob(2048);
        var sha = Sha256(blob);
        var tampered = (byte[])blob.Clone();
        tampered[7] ^= 0xFF;

        Assert.Equal(PutOutcome.DigestMismatch, await _store.ReceiveUploadAsync(sha, blob.Length, new MemoryStream(tampered), default));
        Assert.Equal(PutOutcome.DigestMismatch, await _store.ReceiveUploadAsync(sha, blob.Length, new MemoryStream(blob[..^1]), default));
        Assert.Equal(PutOutcome.NotUploaded, await _store.PromoteUploadAsync(sha, blob.Length, default));
        Assert.Empty(Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories));

        Assert.Equal(PutOutcome.Stored, await _store.ReceiveUploadAsync(sha, blob.Length, new MemoryStream(blob), default));
        Assert.Equal(PutOutcome.DigestMismatch, await _store.PromoteUploadAsync(sha, blob.Length + 1, default));
        Assert.Equal(PutOutcome.Stored, await _store.PromoteUploadAsync(sha, blob.Length, default));
        Assert.Equal(blob, await File.ReadAllBytesAsync(Path.Combine(_root, "sha256", sha[..2], sha)));
    }
}
