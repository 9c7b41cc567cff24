using System.Buffers.Binary;
using System.Net.Mime;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marketplace.Transparency;
using Microsoft.Extensions.DependencyInjection;
using NSec.Cryptography;

namespace Marketplace.Tests.Transparency;

public sealed class AuditFixture() : MarketplaceFixture(HostProfile.Default);

[CollectionDefinition("audit")]
public sealed class AuditCollection : ICollectionFixture<AuditFixture>;

/// <summary>
/// The audit feed and the transparency log, read the way an outside client reads them: feed lines parsed with the
/// CloudEvents SDK, leaves recomputed from those lines, the checkpoint's signature checked with NSec against the key
/// in <c>/.well-known/marketplace</c>, and proofs checked with the RFC 9162 verifiers.
/// </summary>
[Collection("audit")]
public sealed class AuditLogScenarios(AuditFixture fixture)
{
    private static readonly JsonEventFormatter Formatter = new();

    private sealed record Line(string Text, CloudEvent Event, long Sequence);

    private async Task<(List<Line> Lines, long LastSequence)> FeedAsync(long after = 0, int limit = 1000)
    {
        var result = await fixture.Host.Scenario(s =>
        {
            s.Get.Url($"/v1/events?after={after}&limit={limit}");
            s.StatusCodeShouldBe(200);
        });
        Assert.StartsWith("application/x-ndjson", result.Context.Response.ContentType, StringComparison.Ordinal);
        var text = await result.ReadAsTextAsync();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l =>
        {
            var e = Formatter.DecodeStructuredModeMessage(Encoding.UTF8.GetBytes(l), new ContentType("application/cloudevents+json"),
                [CloudEventAttribute.CreateExtension("sequence", CloudEventAttributeType.Integer)]);
            return new Line(l, e, Convert.ToInt64(e["sequence"], System.Globalization.CultureInfo.InvariantCulture));
        }).ToList();
        return (lines, long.Parse(result.Context.Response.Headers["X-Last-Sequence"].ToString(), System.Globalization.CultureInfo.InvariantCulture));
    }

    private async Task<List<Line>> WholeFeedAsync()
    {
        var all = new List<Line>();
        long after = 0;
        while (true)
        {
            var (page, last) = await FeedAsync(after, 7);
            all.AddRange(page);
            if (last == after) return all;
            after = last;
        }
    }

    private static bool IsLeaf(Line line) => line.Event.Type != "dev.marketplace.package.downloaded";

    private async Task<(Checkpoint Checkpoint, JsonElement Json)> CheckpointAsync()
    {
        var json = await fixture.Host.GetJson("/v1/log/checkpoint");
        var wellKnown = await fixture.Host.GetJson("/.well-known/marketplace");
        var publicKey = Convert.FromBase64String(wellKnown.GetProperty("registryKeys")[0].GetProperty("publicKey").GetString()!);
        var note = json.GetProperty("note").GetString()!;
        Assert.Contains("transparency-log", wellKnown.GetProperty("features").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(json.GetProperty("verifierKey").GetString(), wellKnown.GetProperty("limits").GetProperty("transparencyLog").GetProperty("verifierKey").GetString());
        var origin = json.GetProperty("origin").GetString()!;
        // The signature checked here by hand from the signed-note spec (not through the registry's code)...
        var body = note[..(note.IndexOf("\n\n", StringComparison.Ordinal) + 1)];
        var signatureLine = note[(body.Length + 1)..].TrimEnd('\n');
        Assert.StartsWith($"\u2014 {origin} ", signatureLine, StringComparison.Ordinal);
        var blob = Convert.FromBase64String(signatureLine[(origin.Length + 3)..]);
        var keyHash = SHA256.HashData([.. Encoding.UTF8.GetBytes(origin + "\n"), 0x01, .. publicKey])[..4];
        Assert.Equal(keyHash, blob[..4]);
        Assert.True(SignatureAlgorithm.Ed25519.Verify(PublicKey.Import(SignatureAlgorithm.Ed25519, publicKey, KeyBlobFormat.RawPublicKey),
            Encoding.UTF8.GetBytes(body), blob.AsSpan(4)));
        // ...and through the domain's verifier, which a client library would use.
        var checkpoint = Checkpoint.Verify(note, origin, publicKey);
        Assert.NotNull(checkpoint);
        Assert.Equal(json.GetProperty("treeSize").GetInt64(), checkpoint.TreeSize);
        Assert.Equal(json.GetProperty("rootHash").GetString(), Convert.ToBase64String(checkpoint.RootHash));
        Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(keyHash), Checkpoint.KeyHash(origin, publicKey));
        return (checkpoint, json);
    }

    private async Task<Support.Packages.Published> SomeHistoryAsync()
    {
        var owner = StatementSigner.Generate();
        var published = await fixture.Host.PublishedPackage(name: Support.Packages.UniqueName("audit"), owner: owner);
        await fixture.Host.PublishedPackage(name: published.Name, version: "1.1.0", owner: owner);
        await fixture.Host.DownloadAsync(published.Name, "1.0.0");
        await fixture.Host.Scenario(s =>
        {
            s.Post.Json(Support.Packages.YankBody(owner, "yank", published.Name, "1.1.0")).ToUrl($"/v1/packages/{published.Name}/1.1.0/yank");
            s.StatusCodeShouldBe(200);
        });
        var second = StatementSigner.Generate();
        await fixture.Host.Scenario(s =>
        {
            s.Post.Json(Support.Packages.OwnersBody(owner, "add", published.Name, second.Owner)).ToUrl($"/v1/packages/{published.Name}/owners");
            s.StatusCodeShouldBe(200);
        });
        await fixture.WaitForProjectionsAsync();
        return published;
    }

    [Fact]
    public async Task the_feed_is_every_event_in_global_order_as_cloudevents_lines()
    {
        var published = await SomeHistoryAsync();
        var feed = await WholeFeedAsync();
        Assert.Equal(feed.Select(l => l.Sequence).Order(), feed.Select(l => l.Sequence));
        Assert.Equal(feed.Count, feed.Select(l => l.Sequence).Distinct().Count());
        var mine = feed.Where(l => l.Event.Source!.ToString() == $"/packages/{published.Name}").Select(l => l.Event.Type).ToList();
        Assert.Equal(["dev.marketplace.owner.added", "dev.marketplace.package.published", "dev.marketplace.package.published",
            "dev.marketplace.package.downloaded", "dev.marketplace.version.yanked", "dev.marketplace.owner.added"], mine);
        var publish = feed.First(l => l.Event.Type == "dev.marketplace.package.published" && l.Event.Source!.ToString() == $"/packages/{published.Name}");
        Assert.Equal($"{published.Name}@1.0.0", publish.Event.Subject);
        Assert.Equal(published.Sha256, ((JsonElement)publish.Event.Data!).GetProperty("sha256").GetString());
        Assert.Equal(published.Sequence, publish.Sequence);
        Assert.Equal(CloudEventsSpecVersion.V1_0, publish.Event.SpecVersion);

        // Paging by the last sequence seen gives the same lines as one big page.
        var (big, _) = await FeedAsync(0, 1000);
        Assert.Equal(big.Select(l => l.Text), feed.Select(l => l.Text));
        var (tail, _) = await FeedAsync(feed[^3].Sequence);
        Assert.Equal(feed.TakeLast(2).Select(l => l.Text), tail.Select(l => l.Text));
    }

    [Fact]
    public async Task a_client_recomputes_the_signed_root_from_the_feed_and_checks_inclusion_of_a_publish()
    {
        var published = await SomeHistoryAsync();
        var leaves = (await WholeFeedAsync()).Where(IsLeaf).ToList();
        var (checkpoint, _) = await CheckpointAsync();
        Assert.Equal(leaves.Count, checkpoint.TreeSize);
        var leafHashes = leaves.Select(l => MerkleTree.LeafHash(Encoding.UTF8.GetBytes(l.Text))).ToList();
        Assert.Equal(MerkleTree.RootHash(leafHashes), checkpoint.RootHash);

        var proof = await fixture.Host.GetJson($"/v1/log/proof/inclusion?sequence={published.Sequence}&treeSize={checkpoint.TreeSize}");
        var index = proof.GetProperty("index").GetInt64();
        var line = leaves[(int)index];
        Assert.Equal(published.Sequence, line.Sequence);
        Assert.True(MerkleVerifier.VerifyInclusion(MerkleTree.LeafHash(Encoding.UTF8.GetBytes(line.Text)), index, checkpoint.TreeSize,
            proof.GetProperty("proof").EnumerateArray().Select(p => Convert.FromBase64String(p.GetString()!)).ToList(), checkpoint.RootHash));

        var leaf = await fixture.Host.GetJson($"/v1/log/leaves/{index}");
        Assert.Equal(Convert.ToBase64String(leafHashes[(int)index]), leaf.GetProperty("leafHash").GetString());
    }

    [Fact]
    public async Task a_tampered_event_is_detected_by_the_client()
    {
        var published = await SomeHistoryAsync();
        var leaves = (await WholeFeedAsync()).Where(IsLeaf).ToList();
        var (checkpoint, _) = await CheckpointAsync();
        var proof = await fixture.Host.GetJson($"/v1/log/proof/inclusion?sequence={published.Sequence}&treeSize={checkpoint.TreeSize}");
        var index = proof.GetProperty("index").GetInt32();
        var path = proof.GetProperty("proof").EnumerateArray().Select(p => Convert.FromBase64String(p.GetString()!)).ToList();

        // A mirror that altered the digest of the published version, and one that dropped an event.
        var tampered = leaves[index].Text.Replace(published.Sha256, new string('0', 64), StringComparison.Ordinal);
        Assert.NotEqual(leaves[index].Text, tampered);
        Assert.False(MerkleVerifier.VerifyInclusion(MerkleTree.LeafHash(Encoding.UTF8.GetBytes(tampered)), index, checkpoint.TreeSize, path, checkpoint.RootHash));
        var altered = leaves.Select(l => MerkleTree.LeafHash(Encoding.UTF8.GetBytes(l.Text))).ToList();
        altered[index] = MerkleTree.LeafHash(Encoding.UTF8.GetBytes(tampered));
        Assert.NotEqual(checkpoint.RootHash, MerkleTree.RootHash(altered));
        var dropped = leaves.Where((_, i) => i != index).Select(l => MerkleTree.LeafHash(Encoding.UTF8.GetBytes(l.Text))).ToList();
        Assert.NotEqual(checkpoint.RootHash, MerkleTree.RootHash(dropped));
    }

    [Fact]
    public async Task every_earlier_checkpoint_is_consistent_with_a_later_one_and_a_rewritten_log_is_not()
    {
        await SomeHistoryAsync();
        var (before, _) = await CheckpointAsync();
        await SomeHistoryAsync();
        var (after, _) = await CheckpointAsync();
        Assert.True(after.TreeSize > before.TreeSize);
        var leaves = (await WholeFeedAsync()).Where(IsLeaf).Select(l => MerkleTree.LeafHash(Encoding.UTF8.GetBytes(l.Text))).ToList();
        for (var m = 1; m <= after.TreeSize; m += Math.Max(1, (int)after.TreeSize / 12))
        {
            var json = await fixture.Host.GetJson($"/v1/log/proof/consistency?from={m}&to={after.TreeSize}");
            var proof = json.GetProperty("proof").EnumerateArray().Select(p => Convert.FromBase64String(p.GetString()!)).ToList();
            Assert.True(MerkleVerifier.VerifyConsistency(m, after.TreeSize, MerkleTree.RootHash(leaves[..m]), after.RootHash, proof), $"size {m}");
        }
        var fromBefore = await fixture.Host.GetJson($"/v1/log/proof/consistency?from={before.TreeSize}&to={after.TreeSize}");
        var path = fromBefore.GetProperty("proof").EnumerateArray().Select(p => Convert.FromBase64String(p.GetString()!)).ToList();
        Assert.True(MerkleVerifier.VerifyConsistency(before.TreeSize, after.TreeSize, before.RootHash, after.RootHash, path));
        // A log that rewrote its past: the old checkpoint's root no longer fits the new one.
        var forged = (byte[])before.RootHash.Clone();
        forged[0] ^= 1;
        Assert.False(MerkleVerifier.VerifyConsistency(before.TreeSize, after.TreeSize, forged, after.RootHash, path));
    }

    [Fact]
    public async Task a_package_history_is_its_lines_of_the_feed_each_provable_in_the_log()
    {
        var published = await SomeHistoryAsync();
        var feed = (await WholeFeedAsync()).Where(l => IsLeaf(l) && l.Event.Source!.ToString() == $"/packages/{published.Name}").Select(l => l.Text).ToList();
        var result = await fixture.Host.Scenario(s => s.Get.Url($"/v1/packages/{published.Name.ToUpperInvariant()}/events"));
        var history = (await result.ReadAsTextAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        Assert.Equal(feed, history);
        Assert.Equal(5, history.Count); // owner, two publishes, a yank, a second owner
        var (checkpoint, _) = await CheckpointAsync();
        foreach (var line in history)
        {
            var sequence = JsonDocument.Parse(line).RootElement.GetProperty("sequence").GetInt64();
            var proof = await fixture.Host.GetJson($"/v1/log/proof/inclusion?sequence={sequence}&treeSize={checkpoint.TreeSize}");
            Assert.True(MerkleVerifier.VerifyInclusion(MerkleTree.LeafHash(Encoding.UTF8.GetBytes(line)), proof.GetProperty("index").GetInt64(), checkpoint.TreeSize,
                proof.GetProperty("proof").EnumerateArray().Select(p => Convert.FromBase64String(p.GetString()!)).ToList(), checkpoint.RootHash));
        }
        var (status, code, _) = await fixture.Host.Send(s => s.Get.Url("/v1/packages/no-such-package-here/events"));
        Assert.Equal((404, "not-found"), (status, code));
    }

    [Theory]
    [InlineData("/v1/events?after=-1")]
    [InlineData("/v1/events?after=x")]
    [InlineData("/v1/events?limit=0")]
    [InlineData("/v1/events?limit=1001")]
    [InlineData("/v1/log/leaves/-3")]
    [InlineData("/v1/log/proof/inclusion")]
    [InlineData("/v1/log/proof/inclusion?index=0&sequence=1")]
    [InlineData("/v1/log/proof/inclusion?index=0&treeSize=99999999")]
    [InlineData("/v1/log/proof/consistency")]
    [InlineData("/v1/log/proof/consistency?from=5&to=2")]
    [InlineData("/v1/log/proof/consistency?from=99999999999")]
    public async Task bad_log_and_feed_parameters_are_invalid_request(string url)
    {
        var (status, code, _) = await fixture.Host.Send(s => s.Get.Url(url));
        Assert.Equal((400, "invalid-request"), (status, code));
    }

    [Fact]
    public async Task unknown_leaves_are_not_found()
    {
        var (status, code, _) = await fixture.Host.Send(s => s.Get.Url("/v1/log/leaves/999999"));
        Assert.Equal((404, "not-found"), (status, code));
    }
}
