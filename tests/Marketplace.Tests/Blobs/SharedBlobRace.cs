using Marketplace.Functions.Blobs;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Blobs;

/// <summary>
/// A publish that stored a blob and then lost must not take the blob from another publish of the same bytes. Each
/// round races three publishes: A (bytes H) and C (bytes H2) of one new version, and B of another package with the
/// bytes H. When C wins, A has stored H and lost while B, which found H "already stored", may not have committed yet.
/// </summary>
[Collection("file store")]
public sealed class SharedBlobRace(FileStoreFixture fixture)
{
    private const int Rounds = 100;

    [Fact]
    public async Task no_committed_version_is_left_without_its_blob_after_a_hundred_shared_blob_races()
    {
        var host = fixture.Host;
        var committed = new List<(string Name, string Sha256)>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var round = 0; round < Rounds && clock.Elapsed < TimeSpan.FromMinutes(2); round++)
        {
            var h = RandomBlob(1024);
            var h2 = RandomBlob(1024);
            var contested = UniqueName("race");
            var other = UniqueName("share");
            var owner = StatementSigner.Generate();
            async Task<(string Name, string Sha256, int Status)> Put(string name, byte[] blob, StatementSigner signer)
            {
                var (status, _, _) = await host.Send(s =>
                {
                    s.Put.Json(PublishBody(signer, Statement(name, "1.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/1.0.0");
                    s.IgnoreStatusCode();
                });
                return (name, Sha256(blob), status);
            }
            var results = await Task.WhenAll(Put(contested, h, owner), Put(other, h, StatementSigner.Generate()), Put(contested, h2, owner));
            Assert.All(results, r => Assert.True(r.Status is 201 or 409, $"{r.Name}: {r.Status}"));
            Assert.Equal(2, results.Count(r => r.Status == 201));
            committed.AddRange(results.Where(r => r.Status == 201).Select(r => (r.Name, r.Sha256)));
        }

        Assert.True(committed.Count >= 2 * 50, $"only {committed.Count / 2} rounds ran in the time bound");
        var stored = (await fixture.BlobKeysAsync()).Select(k => Path.GetFileName(k)).ToHashSet(StringComparer.Ordinal);
        var missing = committed.Where(c => !stored.Contains(c.Sha256)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} committed versions lost their blob: {string.Join(", ", missing.Take(5))}");
    }

    [Fact]
    public async Task the_orphan_collector_deletes_only_unreferenced_blobs_past_the_grace_period()
    {
        var published = await fixture.Host.PublishedPackage();
        // An orphan: a blob no committed event refers to, as a lost publish leaves it, written two hours ago.
        var orphan = RandomBlob(512);
        var blobs = fixture.Host.Services.GetRequiredService<Marketplace.Blobs.IBlobStore>();
        await blobs.PutAsync(Sha256(orphan), orphan, CancellationToken.None);
        var orphanPath = Directory.EnumerateFiles(fixture.Root, Sha256(orphan), SearchOption.AllDirectories).Single();
        var young = RandomBlob(512);
        await blobs.PutAsync(Sha256(young), young, CancellationToken.None);
        File.SetLastWriteTimeUtc(orphanPath, DateTime.UtcNow.AddHours(-2));
        var publishedPath = Directory.EnumerateFiles(fixture.Root, published.Sha256, SearchOption.AllDirectories).Single();
        File.SetLastWriteTimeUtc(publishedPath, DateTime.UtcNow.AddHours(-2));

        var result = await fixture.Host.Services.GetRequiredService<OrphanBlobCollector>().CollectAsync(CancellationToken.None);

        Assert.True(result.Deleted >= 1, result.ToString());
        Assert.False(File.Exists(orphanPath));
        Assert.True(File.Exists(publishedPath), "a published blob was collected");
        Assert.True(await blobs.ExistsAsync(Sha256(young), CancellationToken.None), "a blob inside the grace period was collected");
        Assert.True(await blobs.ExistsAsync(published.Sha256, CancellationToken.None));
    }
}
