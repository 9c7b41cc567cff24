using Azure.Storage.Blobs;
using Marketplace.Blobs;
using Marketplace.Functions.Blobs;
using Marketplace.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Blobs;

/// <summary>The Azure blob store on Azurite (which checks SAS signatures, permissions and expiry), one container per test class.</summary>
public sealed class AzureBlobStoreTests : IAsyncLifetime
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false });
    private readonly string _container = "mkt-" + Guid.NewGuid().ToString("n")[..12];
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private AzureBlobStore _store = null!;
    private BlobContainerClient Client => new(TestEnvironment.Azure, _container);

    public async Task InitializeAsync()
    {
        await Client.CreateIfNotExistsAsync();
        _store = new AzureBlobStore(new AzureBlobOptions { ConnectionString = TestEnvironment.Azure, Container = _container }, _time);
    }

    public Task DisposeAsync() => Client.DeleteIfExistsAsync();

    /// <summary>The same container, signing with a clock <paramref name="behind"/> the real one.</summary>
    private AzureBlobStore StoreBehind(TimeSpan behind) =>
        new(new AzureBlobOptions { ConnectionString = TestEnvironment.Azure, Container = _container }, new FakeTimeProvider(DateTimeOffset.UtcNow - behind));

    private static readonly Uri Base = new("http://localhost");

    private async Task<List<string>> KeysAsync()
    {
        var keys = new List<string>();
        await foreach (var blob in Client.GetBlobsAsync()) keys.Add(blob.Name);
        return keys;
    }

    private static async Task<HttpResponseMessage> PutAsync(PresignedUpload upload, byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        foreach (var (k, v) in upload.Headers)
        {
            if (k.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) content.Headers.ContentType = new(v);
            else if (!k.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) content.Headers.TryAddWithoutValidation(k, v);
        }
        return await Http.PutAsync(upload.Url, content);
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
        Assert.True(await _store.ExistsAsync(sha, default));
        Assert.Equal([Digest.BlobKey(sha)], await KeysAsync());
        var listed = new List<StoredBlob>();
        await foreach (var b in _store.ListAsync(default)) listed.Add(b);
        Assert.Equal(sha, Assert.Single(listed).Sha256);

        await _store.DeleteAsync(sha, default);
        Assert.False(await _store.ExistsAsync(sha, default));
    }

    [Fact]
    public async Task a_download_sas_url_serves_the_bytes_until_it_expires()
    {
        var blob = RandomBlob(2048);
        var sha = Sha256(blob);
        await _store.PutAsync(sha, blob, default);

        var url = _store.GetDownloadUrl(sha, "pkg-1.0.0.tgz", TimeSpan.FromMinutes(5), Base);
        using (var ok = await Http.GetAsync(url))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal(blob, await ok.Content.ReadAsByteArrayAsync());
            Assert.Contains("pkg-1.0.0.tgz", ok.Content.Headers.ContentDisposition?.ToString(), StringComparison.Ordinal);
        }
        // Read only: the same URL cannot write.
        using (var write = await Http.PutAsync(url, new ByteArrayContent(blob) { Headers = { { "x-ms-blob-type", "BlockBlob" } } }))
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, write.StatusCode);

        // Signed by a clock ten minutes behind: already expired, and Azurite refuses it.
        using var expired = await Http.GetAsync(StoreBehind(TimeSpan.FromMinutes(10)).GetDownloadUrl(sha, "pkg-1.0.0.tgz", TimeSpan.FromMinutes(5), Base));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, expired.StatusCode);
    }

    private const string Cdn = "https://cdn.example.test";

    /// <summary>The same container behind a CDN host, signing with <paramref name="clock"/>.</summary>
    private AzureBlobStore CdnStore(TimeProvider clock) =>
        new(new AzureBlobOptions { ConnectionString = TestEnvironment.Azure, Container = _container, CdnBaseUrl = Cdn + "/" }, clock);

    /// <summary>What the CDN asks the origin for: the same path and query on the storage account (Azurite here).</summary>
    private static Uri AtOrigin(Uri cdnUrl)
    {
        var account = new BlobServiceClient(TestEnvironment.Azure).Uri.AbsoluteUri.TrimEnd('/');
        Assert.StartsWith(Cdn + "/", cdnUrl.AbsoluteUri, StringComparison.Ordinal);
        return new Uri(account + cdnUrl.AbsoluteUri[Cdn.Length..]);
    }

    private static DateTimeOffset HourOf(DateTimeOffset t) => new(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task with_a_cdn_a_download_url_is_the_blobs_path_on_the_cdn_host_and_the_same_for_the_whole_hour()
    {
        var blob = RandomBlob(3000);
        var sha = Sha256(blob);
        await _store.PutAsync(sha, blob, default);
        var hour = HourOf(DateTimeOffset.UtcNow);
        var clock = new FakeTimeProvider(hour.AddMinutes(1));
        var cdn = CdnStore(clock);

        var first = cdn.GetDownloadUrl(sha, "pkg-1.0.0", TimeSpan.FromMinutes(5), Base);
        Assert.Equal("https", first.Scheme);
        Assert.Equal("cdn.example.test", first.Host);
        Assert.Equal($"/{_container}/{Digest.BlobKey(sha)}", first.AbsolutePath);
        var sas = System.Web.HttpUtility.ParseQueryString(first.Query);
        Assert.Equal("r", sas["sp"]);
        Assert.Null(sas["st"]);
        // Expires at the end of the next whole hour: valid for one to two hours whenever it is handed out.
        Assert.Equal(hour.AddHours(2), DateTimeOffset.Parse(sas["se"]!, System.Globalization.CultureInfo.InvariantCulture));

        // Every download in the same hour gets the same URL, so the CDN keeps one copy for all of them.
        clock.Advance(TimeSpan.FromMinutes(58));
        Assert.Equal(first, cdn.GetDownloadUrl(sha, "pkg-1.0.0", TimeSpan.FromMinutes(5), Base));
        clock.Advance(TimeSpan.FromMinutes(1));
        var next = cdn.GetDownloadUrl(sha, "pkg-1.0.0", TimeSpan.FromMinutes(5), Base);
        Assert.NotEqual(first, next);
        Assert.Equal(hour.AddHours(3), DateTimeOffset.Parse(System.Web.HttpUtility.ParseQueryString(next.Query)["se"]!, System.Globalization.CultureInfo.InvariantCulture));

        // The storage account serves the CDN's request for either URL, and tells caches to keep it no longer than the hour.
        foreach (var url in new[] { first, next })
        {
            using var ok = await Http.GetAsync(AtOrigin(url));
            Assert.Equal(System.Net.HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal(blob, await ok.Content.ReadAsByteArrayAsync());
            Assert.Contains("pkg-1.0.0", ok.Content.Headers.ContentDisposition?.ToString(), StringComparison.Ordinal);
            Assert.Equal("public, max-age=3600, immutable", ok.Headers.CacheControl?.ToString());
        }
    }

    [Fact]
    public async Task a_cdn_download_url_edited_to_another_blob_a_staged_upload_or_a_later_expiry_is_refused_at_the_origin()
    {
        var blob = RandomBlob(1000);
        var other = RandomBlob(1000);
        var sha = Sha256(blob);
        await _store.PutAsync(sha, blob, default);
        await _store.PutAsync(Sha256(other), other, default);
        var cdn = CdnStore(_time);
        // A staged upload under the same digest, reachable only by a create-only SAS.
        using (var put = await PutAsync(cdn.PresignUpload(sha, blob.Length, TimeSpan.FromMinutes(15), Base), blob))
            Assert.True(put.IsSuccessStatusCode, $"PUT answered {(int)put.StatusCode}");

        var url = cdn.GetDownloadUrl(sha, "pkg-1.0.0", TimeSpan.FromMinutes(5), Base).AbsoluteUri;
        using (var ok = await Http.GetAsync(AtOrigin(new Uri(url))))
            Assert.Equal(System.Net.HttpStatusCode.OK, ok.StatusCode);
        var se = System.Web.HttpUtility.ParseQueryString(new Uri(url).Query)["se"]!;
        var later = DateTimeOffset.Parse(se, System.Globalization.CultureInfo.InvariantCulture).AddDays(30).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        string[] edited =
        [
            url.Replace(Digest.BlobKey(sha), Digest.BlobKey(Sha256(other)), StringComparison.Ordinal),
            url.Replace($"/{Digest.BlobKey(sha)}", $"/uploads/{Digest.BlobKey(sha)}", StringComparison.Ordinal),
            url.Replace("se=" + Uri.EscapeDataString(se), "se=" + Uri.EscapeDataString(later), StringComparison.Ordinal),
            url.Replace("immutable", "no-transform", StringComparison.Ordinal),
        ];
        foreach (var e in edited)
        {
            Assert.NotEqual(url, e);
            using var refused = await Http.GetAsync(AtOrigin(new Uri(e)));
            Assert.True(refused.StatusCode == System.Net.HttpStatusCode.Forbidden, $"{e}: {(int)refused.StatusCode}");
        }
    }

    [Fact]
    public async Task with_a_cdn_uploads_are_still_signed_for_the_storage_account_and_never_for_the_cdn_host()
    {
        var blob = RandomBlob(700);
        var sha = Sha256(blob);
        var upload = CdnStore(_time).PresignUpload(sha, blob.Length, TimeSpan.FromMinutes(15), Base);
        Assert.NotEqual("cdn.example.test", upload.Url.Host);
        Assert.Equal(new BlobServiceClient(TestEnvironment.Azure).Uri.Authority, upload.Url.Authority);
        Assert.Contains($"/{_container}/uploads/{Digest.BlobKey(sha)}", upload.Url.AbsolutePath, StringComparison.Ordinal);
        using (var put = await PutAsync(upload, blob))
            Assert.True(put.IsSuccessStatusCode, $"PUT answered {(int)put.StatusCode}");
        Assert.Equal(PutOutcome.Stored, await _store.PromoteUploadAsync(sha, blob.Length, default));
    }

    [Fact]
    public void without_a_cdn_a_download_url_is_at_the_storage_account_and_valid_for_its_lifetime_only()
    {
        var url = _store.GetDownloadUrl(Sha256(RandomBlob(10)), "pkg-1.0.0", TimeSpan.FromMinutes(5), Base);
        Assert.Equal(new BlobServiceClient(TestEnvironment.Azure).Uri.Authority, url.Authority);
        var sas = System.Web.HttpUtility.ParseQueryString(url.Query);
        Assert.Equal(_time.GetUtcNow().AddMinutes(5).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture), sas["se"]);
        Assert.Null(sas["rscc"]);
    }

    [Fact]
    public async Task a_presigned_upload_is_promoted_only_when_it_hashes_to_its_digest_and_size()
    {
        var blob = RandomBlob(100_000);
        var sha = Sha256(blob);
        Assert.Equal(PutOutcome.NotUploaded, await _store.PromoteUploadAsync(sha, blob.Length, default));

        var tampered = (byte[])blob.Clone();
        tampered[7] ^= 0xFF;
        using (var put = await PutAsync(_store.PresignUpload(sha, blob.Length, TimeSpan.FromMinutes(15), Base), tampered))
            Assert.True(put.IsSuccessStatusCode, $"PUT answered {(int)put.StatusCode}");
        Assert.Equal(PutOutcome.DigestMismatch, await _store.PromoteUploadAsync(sha, blob.Length, default));
        Assert.Empty(await KeysAsync());

        using (var put = await PutAsync(_store.PresignUpload(sha, blob.Length, TimeSpan.FromMinutes(15), Base), blob))
            Assert.True(put.IsSuccessStatusCode, $"PUT answered {(int)put.StatusCode}");
        Assert.Equal(PutOutcome.DigestMismatch, await _store.PromoteUploadAsync(sha, blob.Length + 1, default));
        Assert.Empty(await KeysAsync());

        using (var put = await PutAsync(_store.PresignUpload(sha, blob.Length, TimeSpan.FromMinutes(15), Base), blob))
            Assert.True(put.IsSuccessStatusCode, $"PUT answered {(int)put.StatusCode}");
        Assert.Equal(PutOutcome.Stored, await _store.PromoteUploadAsync(sha, blob.Length, default));
        Assert.Equal([Digest.BlobKey(sha)], await KeysAsync());
        Assert.Equal(blob, (await Client.GetBlobClient(Digest.BlobKey(sha)).DownloadContentAsync()).Value.Content.ToArray());
        Assert.Equal(PutOutcome.AlreadyStored, await _store.PromoteUploadAsync(sha, blob.Length, default));
    }

    [Fact]
    public async Task an_upload_sas_url_can_only_create_the_staged_blob_and_expires()
    {
        var blob = RandomBlob(512);
        var sha = Sha256(blob);
        var upload = _store.PresignUpload(sha, blob.Length, TimeSpan.FromMinutes(15), Base);
        using (var put = await PutAsync(upload, blob))
            Assert.True(put.IsSuccessStatusCode, $"PUT answered {(int)put.StatusCode}");
        using (var read = await Http.GetAsync(upload.Url))
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, read.StatusCode);
        // Create only: the staged blob cannot be replaced through the URL once it is there.
        using (var again = await PutAsync(upload, RandomBlob(512)))
            Assert.False(again.IsSuccessStatusCode, $"a second PUT answered {(int)again.StatusCode}");
        Assert.Equal(PutOutcome.Stored, await _store.PromoteUploadAsync(sha, blob.Length, default));

        var stale = StoreBehind(TimeSpan.FromMinutes(20)).PresignUpload(Sha256(RandomBlob(512)), 512, TimeSpan.FromMinutes(15), Base);
        using var refused = await PutAsync(stale, RandomBlob(512));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task the_store_is_reachable_only_when_its_container_exists()
    {
        Assert.True(await _store.IsReachableAsync(default));
        var missing = new AzureBlobStore(new AzureBlobOptions { ConnectionString = TestEnvironment.Azure, Container = "mkt-missing-" + Guid.NewGuid().ToString("n")[..8] }, _time);
        Assert.False(await missing.IsReachableAsync(default));
    }

    [Theory]
    [InlineData("http://cdn.example.test")]
    [InlineData("https://cdn.example.test/packages")]
    [InlineData("https://cdn.example.test/?sv=1")]
    [InlineData("https://cdn.example.test#x")]
    [InlineData("https://user:secret@cdn.example.test")]
    [InlineData("cdn.example.test")]
    [InlineData("ftp://cdn.example.test")]
    public void a_cdn_base_url_that_is_not_a_bare_https_host_fails_at_startup(string cdn)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Blobs:Store"] = "azure",
            ["Blobs:Azure:ConnectionString"] = TestEnvironment.Azure,
            ["Blobs:Azure:Container"] = "marketplace",
            ["Blobs:Azure:CdnBaseUrl"] = cdn,
        }).Build();
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddBlobStore(configuration));
        Assert.Contains("Blobs:Azure:CdnBaseUrl", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://marketplace-abc.z01.azurefd.net")]
    [InlineData("https://cdn.example.test/")]
    [InlineData("http://127.0.0.1:10000")]
    [InlineData("")]
    public void a_bare_https_cdn_host_or_loopback_http_or_none_is_accepted(string cdn)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Blobs:Store"] = "azure",
            ["Blobs:Azure:ConnectionString"] = TestEnvironment.Azure,
            ["Blobs:Azure:Container"] = "marketplace",
            ["Blobs:Azure:CdnBaseUrl"] = cdn,
        }).Build();
        Assert.NotNull(new ServiceCollection().AddBlobStore(configuration));
    }

    [Theory]
    [InlineData(null, "marketplace", "Blobs:Azure:ConnectionString is not set")]
    [InlineData("UseDevelopmentStorage=true", null, "Blobs:Azure:Container")]
    [InlineData("UseDevelopmentStorage=true", "Bad_Name", "is not a container name")]
    [InlineData("not a connection string", "marketplace", "is not a storage connection string")]
    [InlineData("BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;SharedAccessSignature=sv=2024-01-01&sig=x", "marketplace", "carries no account key")]
    public void bad_azure_settings_fail_at_startup_with_a_clear_message(string? connectionString, string? container, string message)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Blobs:Store"] = "azure",
            ["Blobs:Azure:ConnectionString"] = connectionString,
            ["Blobs:Azure:Container"] = container,
        }).Build();
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddBlobStore(configuration));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
