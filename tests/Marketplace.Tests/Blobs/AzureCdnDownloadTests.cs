using Azure.Storage.Blobs;
using Marketplace.Blobs;
using Marketplace.Tests.Support;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Blobs;

/// <summary>The Azure blob store (Azurite) with <c>Blobs:Azure:CdnBaseUrl</c> set, as main.bicep deploys it behind Front Door.</summary>
public sealed class AzureCdnStoreFixture()
    : MarketplaceFixture((HostProfile.Default with { BlobStore = "azure" }).With(("Blobs:Azure:CdnBaseUrl", AzureCdnStoreFixture.Cdn)))
{
    public const string Cdn = "https://cdn.example.test";

    public string Container => ((AzureBlobs)Blobs).Container;
}

/// <summary>Downloads through the real HTTP pipeline redirect to the CDN host; uploads never do.</summary>
public sealed class AzureCdnDownloadTests(AzureCdnStoreFixture fixture) : IClassFixture<AzureCdnStoreFixture>
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false });

    private async Task<Uri> DownloadLocationAsync(string name, string version)
    {
        var result = await fixture.Host.Scenario(s =>
        {
            s.Get.Url($"/v1/packages/{name}/{version}/download");
            s.StatusCodeShouldBe(302);
        });
        return new Uri(result.Context.Response.Headers.Location.ToString(), UriKind.Absolute);
    }

    [Fact]
    public async Task a_download_redirects_to_the_blob_on_the_cdn_host_with_one_url_for_every_download_that_hour()
    {
        var p = await fixture.Host.PublishedPackage();
        var first = await DownloadLocationAsync(p.Name, p.Version);
        var second = await DownloadLocationAsync(p.Name, p.Version);

        Assert.Equal($"{AzureCdnStoreFixture.Cdn}/{fixture.Container}/{Digest.BlobKey(p.Sha256)}", first.GetLeftPart(UriPartial.Path));
        // Unless the hour turned between the two requests, the CDN sees one URL and serves the second from its cache.
        if (first != second)
            Assert.NotEqual(System.Web.HttpUtility.ParseQueryString(first.Query)["se"], System.Web.HttpUtility.ParseQueryString(second.Query)["se"]);

        // Front Door forwards the path and query unchanged to the storage account, which serves the bytes.
        var account = new BlobServiceClient(TestEnvironment.Azure).Uri.AbsoluteUri.TrimEnd('/');
        using var origin = await Http.GetAsync(account + first.AbsoluteUri[AzureCdnStoreFixture.Cdn.Length..]);
        Assert.Equal(System.Net.HttpStatusCode.OK, origin.StatusCode);
        Assert.Equal(p.Blob, await origin.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task an_upload_url_points_at_the_storage_account_never_at_the_cdn()
    {
        var blob = RandomBlob(4 * 1024 * 1024 + 1);
        var upload = await fixture.Host.GetJsonFromPost("/v1/uploads", new { sha256 = Sha256(blob), size = blob.Length }, 201);
        var url = new Uri(upload.GetProperty("uploadUrl").GetString()!);
        Assert.NotEqual("cdn.example.test", url.Host);
        Assert.Equal(new BlobServiceClient(TestEnvironment.Azure).Uri.Authority, url.Authority);
        Assert.Contains("/uploads/sha256/", url.AbsolutePath, StringComparison.Ordinal);
    }
}
