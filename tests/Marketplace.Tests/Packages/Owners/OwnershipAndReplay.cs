using Marketplace.Functions.Blobs;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Packages.Owners;

[Collection("file store")]
public sealed class OwnershipAndReplay(FileStoreFixture fixture)
{
    private Alba.IAlbaHost Host => fixture.Host;

    [Fact]
    public async Task owners_are_added_and_removed_by_signed_statements_and_only_owners_may_act()
    {
        var first = await Host.PublishedPackage();
        var second = StatementSigner.Generate();

        // Not yet an owner: may not publish.
        var blob = RandomBlob();
        var (status, code, _) = await Host.Send(s => s.Put.Json(PublishBody(second, Statement(first.Name, "1.1.0", blob), blob)).ToUrl($"/v1/packages/{first.Name}/1.1.0"));
        Assert.Equal((403, "not-owner"), (status, code));

        var added = await Host.GetJsonFromPost($"/v1/packages/{first.Name}/owners", OwnersBody(first.Owner, "add", first.Name, second.Owner), 200);
        Assert.Equal(2, added.GetProperty("owners").GetArrayLength());
        await Host.PublishedPackage(first.Name, "1.1.0", second);

        // The new owner removes the first; the first may no longer yank.
        var removed = await Host.GetJsonFromPost($"/v1/packages/{first.Name}/owners", OwnersBody(second, "remove", first.Name, first.Owner.Owner), 200);
        Assert.Equal([second.Owner.KeyId], removed.GetProperty("owners").EnumerateArray().Select(o => o.GetProperty("keyId").GetString()));
        (status, code, _) = await Host.Send(s => s.Post.Json(YankBody(first.Owner, "yank", first.Name, "1.0.0")).ToUrl($"/v1/packages/{first.Name}/1.0.0/yank"));
        Assert.Equal((403, "not-owner"), (status, code));

        // Never zero owners.
        (status, code, _) = await Host.Send(s => s.Post.Json(OwnersBody(second, "remove", first.Name, second.Owner)).ToUrl($"/v1/packages/{first.Name}/owners"));
        Assert.Equal((409, "last-owner"), (status, code));

        var listed = await Host.GetJson($"/v1/packages/{first.Name}/owners");
        Assert.Equal([second.Owner.KeyId], listed.GetProperty("owners").EnumerateArray().Select(o => o.GetProperty("keyId").GetString()));
    }

    [Fact]
    public async Task a_statement_accepted_once_is_never_accepted_again()
    {
        var p = await Host.PublishedPackage();
        var yank = YankBody(p.Owner, "yank", p.Name, p.Version);
        await Host.Scenario(s => { s.Post.Json(yank).ToUrl($"/v1/packages/{p.Name}/{p.Version}/yank"); s.StatusCodeShouldBe(200); });
        await Host.Scenario(s => { s.Post.Json(YankBody(p.Owner, "unyank", p.Name, p.Version)).ToUrl($"/v1/packages/{p.Name}/{p.Version}/yank"); s.StatusCodeShouldBe(200); });

        var before = await fixture.EventCountAsync();
        var (status, code, _) = await Host.Send(s => s.Post.Json(yank).ToUrl($"/v1/packages/{p.Name}/{p.Version}/yank"));
        Assert.Equal((409, "replayed-statement"), (status, code));
        Assert.Equal(before, await fixture.EventCountAsync());

        await fixture.WaitForProjectionsAsync();
        Assert.False((await Host.GetJson($"/v1/packages/{p.Name}/{p.Version}")).GetProperty("yanked").GetBoolean());
    }

    [Fact]
    public async Task a_stale_yank_statement_is_refused()
    {
        var p = await Host.PublishedPackage();
        var (status, code, _) = await Host.Send(s => s.Post.Json(YankBody(p.Owner, "yank", p.Name, p.Version, issuedAt: DateTimeOffset.UtcNow.AddMinutes(-6))).ToUrl($"/v1/packages/{p.Name}/{p.Version}/yank"));
        Assert.Equal((400, "stale-statement"), (status, code));
    }

    [Fact]
    public async Task a_local_download_url_expires_and_cannot_be_altered()
    {
        var p = await Host.PublishedPackage();
        var store = Host.Services.GetRequiredService<FileBlobStore>();
        var expired = store.GetDownloadUrl(p.Sha256, "x", TimeSpan.FromSeconds(-1), new Uri("http://localhost"));
        var (status, code, _) = await Host.Send(s => s.Get.Url(expired.PathAndQuery));
        Assert.Equal((403, "bad-url-signature"), (status, code));

        var valid = store.GetDownloadUrl(p.Sha256, "x", TimeSpan.FromMinutes(1), new Uri("http://localhost"));
        var otherFile = valid.PathAndQuery.Replace("file=x", "file=y", StringComparison.Ordinal);
        (status, code, _) = await Host.Send(s => s.Get.Url(otherFile));
        Assert.Equal((403, "bad-url-signature"), (status, code));
        Assert.Equal(p.Blob, await Support.Downloads.FollowAsync(Host, valid));
    }

    [Fact]
    public async Task the_registry_describes_itself_and_its_api()
    {
        var facts = await Host.GetJson("/.well-known/marketplace");
        Assert.Equal("v1", facts.GetProperty("apiVersion").GetString());
        Assert.StartsWith("ed25519:", facts.GetProperty("registryKeys")[0].GetProperty("keyId").GetString(), StringComparison.Ordinal);
        Assert.Equal(3 * 1024 * 1024, facts.GetProperty("limits").GetProperty("maxInlineBlobBytes").GetInt64());

        var openapi = await Host.GetJson("/openapi/v1.json");
        var paths = openapi.GetProperty("paths");
        foreach (var path in new[] { "/v1/uploads", "/v1/packages/{name}/{version}", "/v1/packages/{name}", "/v1/packages/{name}/{version}/download", "/v1/packages/{name}/{version}/yank", "/v1/packages/{name}/owners" })
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
        var publish = paths.GetProperty("/v1/packages/{name}/{version}").GetProperty("put").GetProperty("responses");
        foreach (var status in new[] { "201", "400", "403", "409", "413" })
            Assert.True(publish.TryGetProperty(status, out _), $"OpenAPI lacks publish's {status}");
        Assert.True(publish.GetProperty("409").GetProperty("content").TryGetProperty("application/problem+json", out _));

        await Host.Scenario(s => { s.Get.Url("/health/live"); s.StatusCodeShouldBe(200); });
        var ready = await Host.GetJson("/health/ready");
        Assert.Equal("ready", ready.GetProperty("status").GetString());
    }
}
