using Microsoft.Extensions.DependencyInjection;
using System.Security.Cryptography;
using System.Text.Json;
using Marketplace.Downloads;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marten;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Packages;

/// <summary>The core flows, run once per blob store (file, s3rver and Azurite) through the real HTTP pipeline.</summary>
public abstract class LifecycleScenarios<TFixture>(TFixture fixture) where TFixture : MarketplaceFixture
{
    protected TFixture Fixture { get; } = fixture;
    private Alba.IAlbaHost Host => Fixture.Host;

    [Fact]
    public async Task publish_read_download_yank_read_and_download_by_exact_version()
    {
        var v1 = await Host.PublishedPackage(version: "1.0.0");
        var v2 = await Host.PublishedPackage(v1.Name, "1.1.0", v1.Owner);
        await Fixture.WaitForProjectionsAsync();

        var package = await Host.GetJson($"/v1/packages/{v1.Name}");
        Assert.Equal("1.1.0", package.GetProperty("latest").GetString());
        Assert.Equal(["1.0.0", "1.1.0"], package.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        Assert.Equal(v1.Owner.Owner.KeyId, package.GetProperty("owners")[0].GetProperty("keyId").GetString());

        var (location, bytes) = await Host.DownloadAsync(v2.Name, "1.1.0");
        Assert.Equal(v2.Blob, bytes);
        Assert.Equal(v2.Sha256, Sha256(bytes));
        Assert.Contains(v2.Sha256, location.AbsolutePath);

        await Host.Scenario(s =>
        {
            s.Post.Json(YankBody(v1.Owner, "yank", v1.Name, "1.1.0", "security hole")).ToUrl($"/v1/packages/{v1.Name}/1.1.0/yank");
            s.StatusCodeShouldBe(200);
        });
        await Fixture.WaitForProjectionsAsync();

        package = await Host.GetJson($"/v1/packages/{v1.Name}");
        Assert.Equal("1.0.0", package.GetProperty("latest").GetString());
        var version = await Host.GetJson($"/v1/packages/{v1.Name}/1.1.0");
        Assert.True(version.GetProperty("yanked").GetBoolean());
        Assert.Equal("security hole", version.GetProperty("yankedReason").GetString());
        Assert.Equal(1, version.GetProperty("downloads").GetInt64());

        // Yanked, still downloadable by exact version.
        var (_, again) = await Host.DownloadAsync(v2.Name, "1.1.0");
        Assert.Equal(v2.Blob, again);

        await Host.Scenario(s =>
        {
            s.Post.Json(YankBody(v1.Owner, "unyank", v1.Name, "1.1.0")).ToUrl($"/v1/packages/{v1.Name}/1.1.0/yank");
            s.StatusCodeShouldBe(200);
        });
        await Fixture.WaitForProjectionsAsync();
        package = await Host.GetJson($"/v1/packages/{v1.Name}");
        Assert.Equal("1.1.0", package.GetProperty("latest").GetString());
        Assert.Equal(2, package.GetProperty("downloads").GetInt64());
    }

    [Fact]
    public async Task the_version_document_carries_manifest_envelope_and_public_key_as_published()
    {
        var p = await Host.PublishedPackage();
        await Fixture.WaitForProjectionsAsync();
        var version = await Host.GetJson($"/v1/packages/{p.Name}/{p.Version}");
        Assert.Equal(p.Sha256, version.GetProperty("sha256").GetString());
        Assert.Equal(p.Blob.Length, version.GetProperty("size").GetInt64());
        Assert.Equal("MIT", version.GetProperty("manifest").GetProperty("license").GetString());
        Assert.Equal(p.Owner.Owner.PublicKey, version.GetProperty("publicKey").GetString());
        var envelope = version.GetProperty("envelope").Deserialize<DsseEnvelope>(Json)!;
        // Anyone can re-verify what was published from the read model alone.
        var check = StatementVerifier.Verify<PublishStatement>(envelope, p.Owner.Owner.PublicKey, PayloadTypes.Publish, DateTimeOffset.UtcNow);
        Assert.Null(check.Error);
        Assert.Equal(p.Sha256, check.Value!.Statement.Sha256);
    }

    [Fact]
    public async Task a_large_blob_goes_through_a_presigned_upload()
    {
        var owner = StatementSigner.Generate();
        var name = UniqueName("large");
        var blob = RandomBlob(4 * 1024 * 1024 + 17); // over the inline limit
        var upload = await Host.GetJsonFromPost("/v1/uploads", new { sha256 = Sha256(blob), size = blob.Length }, 201);
        var headers = upload.GetProperty("headers").Deserialize<Dictionary<string, string>>()!;
        // The URL is bound to the announced length (and, on S3, to the SHA-256: both signed into the URL).
        Assert.Equal(blob.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), headers["Content-Length"]);
        if (Fixture.BlobStoreKind == "s3")
        {
            Assert.Equal(Convert.ToBase64String(SHA256.HashData(blob)), headers["x-amz-checksum-sha256"]);
            var signed = System.Web.HttpUtility.ParseQueryString(new Uri(upload.GetProperty("uploadUrl").GetString()!).Query)["X-Amz-SignedHeaders"]!.Split(';');
            Assert.Contains("content-length", signed);
            Assert.Contains("x-amz-checksum-sha256", signed);
        }
        if (Fixture.BlobStoreKind == "azure")
        {
            // A SAS binds neither length nor digest: it is create-only on the one staged key, checked on promotion.
            var sas = System.Web.HttpUtility.ParseQueryString(new Uri(upload.GetProperty("uploadUrl").GetString()!).Query);
            Assert.Equal("c", sas["sp"]);
            Assert.Equal("BlockBlob", headers["x-ms-blob-type"]);
            Assert.Contains("/uploads/sha256/", upload.GetProperty("uploadUrl").GetString(), StringComparison.Ordinal);
        }
        using (var put = await Support.Downloads.PutAsync(Host, new Uri(upload.GetProperty("uploadUrl").GetString()!), headers, blob))
            Assert.True(put.IsSuccessStatusCode, $"PUT answered {(int)put.StatusCode}");

        await Host.Scenario(s =>
        {
            s.Put.Json(PublishBody(owner, Statement(name, "2.0.0", blob), blob: null)).ToUrl($"/v1/packages/{name}/2.0.0");
            s.StatusCodeShouldBe(201);
        });
        var (_, bytes) = await Host.DownloadAsync(name, "2.0.0");
        Assert.Equal(Sha256(blob), Sha256(bytes));

        // The digest is now stored: a second upload request is told so.
        var again = await Host.GetJsonFromPost("/v1/uploads", new { sha256 = Sha256(blob), size = blob.Length }, 200);
        Assert.True(again.GetProperty("exists").GetBoolean());
        Assert.DoesNotContain(await Fixture.BlobKeysAsync(), k => k.Contains("uploads", StringComparison.Ordinal) && k.Contains(Sha256(blob), StringComparison.Ordinal));
    }

    [Fact]
    public async Task a_presigned_upload_of_other_bytes_is_refused_at_publish_and_leaves_nothing()
    {
        var owner = StatementSigner.Generate();
        var name = UniqueName("tampered");
        var blob = RandomBlob(4 * 1024 * 1024 + 17);
        var sha = Sha256(blob);
        var upload = await Host.GetJsonFromPost("/v1/uploads", new { sha256 = sha, size = blob.Length }, 201);
        var headers = upload.GetProperty("headers").Deserialize<Dictionary<string, string>>()!;
        var tampered = (byte[])blob.Clone();
        tampered[1000] ^= 0xFF;
        bool accepted;
        using (var put = await Support.Downloads.PutAsync(Host, new Uri(upload.GetProperty("uploadUrl").GetString()!), headers, tampered))
            accepted = put.IsSuccessStatusCode;
        // The file store hashes the PUT itself; s3rver (which ignores the signed checksum) and Azure (a SAS binds no
        // digest) take the bytes, and the publish must catch them.
        Assert.Equal(Fixture.BlobStoreKind != "file", accepted);

        var before = await Fixture.EventCountAsync();
        var (status, code, _) = await Host.Send(s => s.Put.Json(PublishBody(owner, Statement(name, "1.0.0", blob), blob: null)).ToUrl($"/v1/packages/{name}/1.0.0"));
        Assert.Equal((400, accepted ? "digest-mismatch" : "blob-missing"), (status, code));
        Assert.Equal(before, await Fixture.EventCountAsync());
        Assert.DoesNotContain(await Fixture.BlobKeysAsync(), k => k.Contains(sha, StringComparison.Ordinal));
    }

    [Fact]
    public async Task the_registry_names_its_blob_store_and_is_ready_when_the_store_answers()
    {
        var wellKnown = await Host.GetJson("/.well-known/marketplace");
        Assert.Equal(Fixture.BlobStoreKind, wellKnown.GetProperty("blobStore").GetString());
        Assert.True(await Fixture.Host.Services.GetRequiredService<Marketplace.Blobs.IBlobStore>().IsReachableAsync(CancellationToken.None));
    }

    [Fact]
    public async Task publishing_without_the_blob_or_an_upload_is_refused_and_leaves_nothing()
    {
        var owner = StatementSigner.Generate();
        var name = UniqueName();
        var blob = RandomBlob();
        var before = await Fixture.EventCountAsync();
        var (status, code, _) = await Host.Send(s => s.Put.Json(PublishBody(owner, Statement(name, "1.0.0", blob), blob: null)).ToUrl($"/v1/packages/{name}/1.0.0"));
        Assert.Equal((400, "blob-missing"), (status, code));
        Assert.Equal(before, await Fixture.EventCountAsync());
    }

    [Fact]
    public async Task concurrent_publishes_of_one_version_give_one_201_one_event_and_after_collection_one_blob()
    {
        var owner = StatementSigner.Generate();
        var first = await Host.PublishedPackage(owner: owner);
        var blobs = Enumerable.Range(0, 8).Select(_ => RandomBlob()).ToList();
        var results = await Task.WhenAll(blobs.Select(blob => Host.Send(s =>
            s.Put.Json(PublishBody(owner, Statement(first.Name, "3.0.0", blob), blob)).ToUrl($"/v1/packages/{first.Name}/3.0.0"))));

        Assert.Single(results, r => r.Status == 201);
        Assert.All(results.Where(r => r.Status != 201), r => Assert.Equal((409, "version-exists"), (r.Status, r.Code)));

        await using var session = Fixture.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(first.Name);
        Assert.Single(events, e => e.Data is PackagePublished p && p.Version == "3.0.0");
        // The losers' blobs stay until the orphan collector runs (never deleted on the request path); collected with
        // no grace period (nothing else runs in this collection now), only the winner's blob is left.
        var collector = new Marketplace.Functions.Blobs.OrphanBlobCollector(
            Fixture.Host.Services.GetRequiredService<Marketplace.Blobs.IBlobInventory>(), Fixture.Host.Services.GetRequiredService<Marketplace.Blobs.IBlobStore>(),
            Fixture.Store, new Marketplace.Functions.Blobs.OrphanOptions { Grace = TimeSpan.Zero }, TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Marketplace.Functions.Blobs.OrphanBlobCollector>.Instance);
        await collector.CollectAsync(CancellationToken.None);
        var keys = await Fixture.BlobKeysAsync();
        Assert.Single(blobs, b => keys.Any(k => k.EndsWith(Sha256(b), StringComparison.Ordinal)));
    }

    [Fact]
    public async Task concurrent_first_publishes_of_a_new_name_give_one_owner()
    {
        var name = UniqueName("race");
        var signers = Enumerable.Range(0, 4).Select(_ => StatementSigner.Generate()).ToList();
        var results = await Task.WhenAll(signers.Select(signer =>
        {
            var blob = RandomBlob();
            return Host.Send(s => s.Put.Json(PublishBody(signer, Statement(name, "1.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/1.0.0"));
        }));
        Assert.Single(results, r => r.Status == 201);
        Assert.All(results.Where(r => r.Status != 201), r => Assert.True(r.Code is "version-exists" or "not-owner", r.Code));
        var owners = await Host.GetJson($"/v1/packages/{name}/owners");
        Assert.Single(owners.GetProperty("owners").EnumerateArray());
    }

    [Fact]
    public async Task downloads_are_events_in_download_streams_and_are_counted()
    {
        var p = await Host.PublishedPackage();
        for (var i = 0; i < 5; i++) await Host.DownloadAsync(p.Name, p.Version);
        await Fixture.WaitForProjectionsAsync();

        await using var session = Fixture.Store.QuerySession();
        var packageStream = await session.Events.FetchStreamAsync(p.Name);
        Assert.DoesNotContain(packageStream, e => e.Data is Downloaded);
        var downloads = await session.Events.QueryRawEventDataOnly<Downloaded>().Where(d => d.Name == p.Name).CountAsync();
        Assert.Equal(5, downloads);

        Assert.Equal(5, (await Host.GetJson($"/v1/packages/{p.Name}")).GetProperty("downloads").GetInt64());
        Assert.Equal(5, (await Host.GetJson($"/v1/packages/{p.Name}/{p.Version}")).GetProperty("downloads").GetInt64());
        var daily = await Host.GetJson($"/v1/packages/{p.Name}/downloads?days=7");
        Assert.Equal(5, daily.GetProperty("total").GetInt64());
        var today = Assert.Single(daily.GetProperty("days").EnumerateArray());
        Assert.Equal(DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), today.GetProperty("day").GetString());
        Assert.Equal(5, today.GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task reads_carry_an_etag_and_answer_304_when_it_matches()
    {
        var p = await Host.PublishedPackage();
        await Fixture.WaitForProjectionsAsync();
        var first = await Host.Scenario(s => { s.Get.Url($"/v1/packages/{p.Name}"); s.StatusCodeShouldBe(200); });
        var etag = first.Context.Response.Headers.ETag.ToString();
        Assert.StartsWith("\"", etag, StringComparison.Ordinal);
        Assert.Contains("max-age", first.Context.Response.Headers.CacheControl.ToString(), StringComparison.Ordinal);
        await Host.Scenario(s =>
        {
            s.Get.Url($"/v1/packages/{p.Name}");
            s.WithRequestHeader("If-None-Match", etag);
            s.StatusCodeShouldBe(304);
        });
        // A change makes a new ETag.
        await Host.PublishedPackage(p.Name, "1.0.1", p.Owner);
        await Fixture.WaitForProjectionsAsync();
        await Host.Scenario(s =>
        {
            s.Get.Url($"/v1/packages/{p.Name}");
            s.WithRequestHeader("If-None-Match", etag);
            s.StatusCodeShouldBe(200);
        });
    }

    [Fact]
    public async Task names_are_normalised_and_the_first_spelling_is_kept_for_display()
    {
        var suffix = Guid.NewGuid().ToString("n")[..8];
        var p = await Host.PublishedPackage($"Foo_Bar-{suffix}", "1.0.0");
        await Host.PublishedPackage($"foo.bar-{suffix}", "1.0.1", p.Owner);
        await Fixture.WaitForProjectionsAsync();
        var package = await Host.GetJson($"/v1/packages/FOO-BAR-{suffix}");
        Assert.Equal($"foo-bar-{suffix}", package.GetProperty("name").GetString());
        Assert.Equal($"Foo_Bar-{suffix}", package.GetProperty("displayName").GetString());
        Assert.Equal(2, package.GetProperty("versions").GetArrayLength());
    }

    [Fact]
    public async Task build_metadata_does_not_make_a_new_version()
    {
        var p = await Host.PublishedPackage(version: "1.0.0+linux");
        var blob = RandomBlob();
        var (status, code, _) = await Host.Send(s => s.Put.Json(PublishBody(p.Owner, Statement(p.Name, "1.0.0+mac", blob), blob)).ToUrl($"/v1/packages/{p.Name}/1.0.0+mac"));
        Assert.Equal((409, "version-exists"), (status, code));
        var (_, bytes) = await Host.DownloadAsync(p.Name, "1.0.0");
        Assert.Equal(p.Blob, bytes);
    }

    [Fact]
    public async Task every_event_carries_the_actor_and_the_correlation_id()
    {
        var owner = StatementSigner.Generate();
        var name = UniqueName();
        var blob = RandomBlob();
        var correlation = "test-" + Guid.NewGuid().ToString("n");
        await Host.Scenario(s =>
        {
            s.Put.Json(PublishBody(owner, Statement(name, "1.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/1.0.0");
            s.WithRequestHeader("X-Correlation-Id", correlation);
            s.StatusCodeShouldBe(201);
            s.Header("X-Correlation-Id").SingleValueShouldEqual(correlation);
        });
        await using var session = Fixture.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(name);
        Assert.Equal(2, events.Count); // OwnerAdded, PackagePublished
        Assert.All(events, e =>
        {
            Assert.Equal(correlation, e.CorrelationId);
            Assert.Equal(owner.Owner.KeyId, e.UserName);
        });
        Assert.IsType<OwnerAdded>(events[0].Data);
        Assert.IsType<PackagePublished>(events[1].Data);
    }
}

[Collection("file store")]
public sealed class FileStoreLifecycle(FileStoreFixture fixture) : LifecycleScenarios<FileStoreFixture>(fixture);

[Collection("s3 store")]
public sealed class S3StoreLifecycle(S3StoreFixture fixture) : LifecycleScenarios<S3StoreFixture>(fixture);

[Collection("azure store")]
public sealed class AzureStoreLifecycle(AzureStoreFixture fixture) : LifecycleScenarios<AzureStoreFixture>(fixture);
