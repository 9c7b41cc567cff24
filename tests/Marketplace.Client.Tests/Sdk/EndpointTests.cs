using Marketplace.Client.Packing;
using Marketplace.Client.Tests.Support;
using Marketplace.Client.Trust;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.Transparency;

namespace Marketplace.Client.Tests.Sdk;

/// <summary>Every endpoint of API.md and of its additions in docs/api.md, through the SDK, against the real service.</summary>
[Collection("journey")]
public sealed class EndpointTests(JourneyRegistry registry)
{
    [Fact]
    public async Task every_endpoint_answers_through_the_sdk_with_typed_results()
    {
        using var client = MarketplaceClient.CreateBuilder().WithRegistry(registry.Url).WithTrustStore(new MemoryTrustStore()).Build();
        using var owner = StatementSigner.Generate();
        using var second = StatementSigner.Generate();
        var name = PackageFolders.Unique("sdk");
        var scratch = Directory.CreateTempSubdirectory("mkt-sdk-").FullName;
        try
        {
            await EveryEndpoint(client, owner, second, name, scratch);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private async Task EveryEndpoint(MarketplaceClient client, StatementSigner owner, StatementSigner second, string name, string scratch)
    {
        var folder = PackageFolders.Create(scratch, name, "1.0.0");
        var archive = Path.Combine(scratch, "blob.tar.gz");
        var (sha256, size) = await PackageArchive.PackToFileAsync(folder, archive);

        var info = await client.GetRegistryInfoAsync();
        Assert.Equal("v1", info.ApiVersion);
        Assert.Equal(3 * 1024 * 1024, info.Limits.MaxInlineBlobBytes);
        Assert.NotNull(info.Limits.TransparencyLog);
        Assert.True((await client.GetHealthAsync(ready: false)).Healthy);
        Assert.True((await client.GetHealthAsync(ready: true)).Healthy);
        Assert.Contains("\"openapi\"", await client.GetOpenApiDocumentAsync(), StringComparison.Ordinal);

        // A small blob through the upload path too: POST /v1/uploads, the presigned PUT, then publish without a blob.
        var ticket = await client.CreateUploadAsync(sha256, size);
        Assert.False(ticket.Exists);
        await client.UploadBlobAsync(ticket, archive);
        var statement = new PublishStatement(name, "1.0.0", sha256, size, new PackageManifest(Description: "via upload", License: "MIT"), DateTimeOffset.UtcNow);
        var published = await client.PublishAsync(name, "1.0.0", new SignedStatement(owner.Sign(PayloadTypes.Publish, statement), owner.Owner.PublicKey));
        Assert.Equal((name, "1.0.0", sha256), (published.Name, published.Version, published.Sha256));
        Assert.EndsWith($"/v1/packages/{name}/1.0.0", published.Location!.ToString(), StringComparison.Ordinal);
        var replay = await Assert.ThrowsAsync<MarketplaceApiException>(() =>
            client.PublishAsync(name, "1.0.0", new SignedStatement(owner.Sign(PayloadTypes.Publish, statement), owner.Owner.PublicKey)));
        Assert.True(replay.IsConflict);
        Assert.Contains(replay.Code, new[] { "version-exists", "replayed-statement" });
        await registry.CaughtUpAsync();

        var package = await client.GetPackageAsync(name);
        Assert.Equal("1.0.0", package.Latest);
        var version = await client.GetVersionAsync(name, "1.0.0");
        Assert.Equal(owner.Owner.KeyId, version.KeyId);
        using (var sink = new MemoryStream())
        {
            var downloaded = await client.DownloadAsync(name, "1.0.0", sink, size);
            Assert.Equal((sha256, size), (downloaded.Sha256, downloaded.Size));
        }
        Assert.True((await client.UnyankAsync(owner, name, "1.0.0")).Yanked is false);
        var yanked = await client.YankAsync(owner, name, "1.0.0", "testing");
        Assert.Equal(("testing", true), (yanked.Reason, yanked.Yanked));
        Assert.Equal(2, (await client.AddOwnerAsync(owner, name, second.Owner)).Owners.Count);
        Assert.Single((await client.RemoveOwnerAsync(second, name, owner.Owner.KeyId)).Owners);
        Assert.Equal("not-owner", (await Assert.ThrowsAsync<MarketplaceApiException>(() => client.UnyankAsync(owner, name, "1.0.0"))).Code);
        await registry.CaughtUpAsync();

        Assert.True((await client.GetDownloadsAsync(name, 7)).Total >= 1);
        var history = await client.GetPackageEventsAsync(name);
        Assert.Equal([RegistryEvent.OwnerAdded, RegistryEvent.Published, RegistryEvent.Yanked, RegistryEvent.OwnerAdded, RegistryEvent.OwnerRemoved],
            history.Select(e => e.Type));
        var page = await client.GetEventsAsync(history[0].Sequence - 1, 2);
        Assert.Equal(history[0].Line.ToArray(), page.Events[0].Line.ToArray());
        Assert.False(page.IsEnd);

        var checkpoint = await client.Log.VerifyLatestCheckpointAsync();
        var inclusion = await client.GetInclusionProofAsync(sequence: history[1].Sequence, treeSize: checkpoint.TreeSize);
        var leaf = await client.GetLogLeafAsync(inclusion.Index);
        Assert.Equal(Convert.ToBase64String(history[1].LeafHash()), leaf.LeafHash);
        Assert.True(MerkleVerifier.VerifyInclusion(history[1].LeafHash(), inclusion.Index, checkpoint.TreeSize,
            inclusion.Proof.Select(Convert.FromBase64String).ToArray(), checkpoint.RootHash));
        var consistency = await client.GetConsistencyProofAsync(1, checkpoint.TreeSize);
        Assert.Equal((1, checkpoint.TreeSize), (consistency.From, consistency.To));
        await client.Log.VerifyIncludedAsync(history);

        var search = await client.SearchAsync(new SearchRequest(Query: name, Limit: 5));
        Assert.NotNull(search.Facets);
        Assert.Equal("invalid-query", (await Assert.ThrowsAsync<MarketplaceApiException>(() => client.SearchAsync(new SearchRequest(Limit: 1000)))).Code);
        Assert.Contains("marketplace_publishes", await client.GetMetricsAsync(), StringComparison.Ordinal);
    }
}
