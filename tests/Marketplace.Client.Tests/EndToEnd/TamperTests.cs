using System.Text.Json;
using System.Text.Json.Nodes;
using Marketplace.Cli;
using Marketplace.Client.Packing;
using Marketplace.Client.Tests.Support;
using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.Client.Tests.EndToEnd;

/// <summary>
/// What the registry serves is altered behind its back — a blob on disk, the version document's digest, its signature
/// and key, the log the client already verified, the registry key — and install refuses each with a message that says
/// what failed, exit code 3, and the install folder exactly as it was.
/// </summary>
[Collection("tamper")]
public sealed class TamperTests(TamperRegistry registry)
{
    private async Task<(CliRunner Mkt, string Name, JsonElement Published)> PublishedAsync(string prefix)
    {
        var mkt = new CliRunner(registry.Url);
        await mkt.OkAsync("key", "new");
        var name = PackageFolders.Unique(prefix);
        var published = (await mkt.OkAsync("publish", PackageFolders.Create(mkt.WorkingDirectory, name, "1.0.0"), "--wait", "--json")).Json;
        await registry.CaughtUpAsync();
        return (mkt, name, published);
    }

    private static void NothingWritten(CliRunner mkt, string folder) =>
        Assert.False(Directory.Exists(mkt.Path(folder)), $"{folder} must not exist after a refused install");

    [Fact]
    public async Task a_blob_altered_in_storage_after_publish_is_refused_and_the_installed_folder_stays_as_it_was()
    {
        var (runner, name, published) = await PublishedAsync("blob");
        using var mkt = runner;
        var installed = mkt.Path("installed");
        await mkt.OkAsync("install", name, "--dir", installed);
        var tree = PackageArchive.TreeDigest(installed);
        var lockBytes = File.ReadAllBytes(Path.Combine(installed, "mkt.lock"));

        var sha256 = published.GetProperty("sha256").GetString()!;
        var blob = registry.BlobPath(sha256);
        var bytes = File.ReadAllBytes(blob);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(blob, bytes);

        var refused = await mkt.ExpectAsync(ExitCodes.Verification, "install", "--dir", installed);
        Assert.Contains("digest-mismatch", refused.Error, StringComparison.Ordinal);
        Assert.Contains($"its publisher signed sha256 {sha256}", refused.Error, StringComparison.Ordinal);
        Assert.Equal(tree, PackageArchive.TreeDigest(installed));
        Assert.Equal(lockBytes, File.ReadAllBytes(Path.Combine(installed, "mkt.lock")));
        await mkt.ExpectAsync(ExitCodes.Verification, "install", name, "--dir", mkt.Path("fresh"));
        NothingWritten(mkt, "fresh");
    }

    [Fact]
    public async Task a_version_document_pointing_at_another_digest_is_refused()
    {
        var (runner, name, published) = await PublishedAsync("digest");
        using var mkt = runner;
        var other = PackageFolders.Unique("other");
        var otherPublished = (await mkt.OkAsync("publish", PackageFolders.Create(mkt.WorkingDirectory, other, "1.0.0"), "--wait", "--json")).Json;
        var otherSha = otherPublished.GetProperty("sha256").GetString()!;
        await registry.CaughtUpAsync();

        Assert.Equal(1, await registry.ExecuteAsync(
            "update {schema}.mt_doc_versiondocument set data = jsonb_set(data, '{Sha256}', to_jsonb($1::text)) where id = $2", otherSha, $"{name}@1.0.0"));

        var refused = await mkt.ExpectAsync(ExitCodes.Verification, "install", name, "--dir", mkt.Path("out"));
        Assert.Contains("statement-mismatch", refused.Error, StringComparison.Ordinal);
        Assert.Contains($"the registry says its blob is sha256 {otherSha}, but the publisher signed sha256 {published.GetProperty("sha256").GetString()}",
            refused.Error, StringComparison.Ordinal);
        NothingWritten(mkt, "out");
    }

    [Fact]
    public async Task a_version_signed_by_a_key_that_was_not_an_owner_is_refused()
    {
        var (runner, name, published) = await PublishedAsync("stranger");
        using var mkt = runner;
        using var stranger = StatementSigner.Generate();
        var statement = new PublishStatement(name, "1.0.0", published.GetProperty("sha256").GetString()!, published.GetProperty("size").GetInt64(),
            new PackageManifest(Description: "not the owner's"), DateTimeOffset.UtcNow);
        var envelope = stranger.Sign(PayloadTypes.Publish, statement);

        Assert.Equal(1, await registry.ExecuteAsync(
            "update {schema}.mt_doc_versiondocument set data = data || jsonb_build_object('Envelope', $1::jsonb, 'PublicKey', $2::text, 'KeyId', $3::text) where id = $4",
            JsonSerializer.Serialize(envelope), stranger.Owner.PublicKey, stranger.Owner.KeyId, $"{name}@1.0.0"));

        var refused = await mkt.ExpectAsync(ExitCodes.Verification, "install", name, "--dir", mkt.Path("out"));
        Assert.Contains("not-owner-at-publish", refused.Error, StringComparison.Ordinal);
        Assert.Contains($"is signed by key {stranger.Owner.KeyId}, which was not an owner of {name} when 1.0.0 was published", refused.Error, StringComparison.Ordinal);
        NothingWritten(mkt, "out");
    }

    [Fact]
    public async Task a_log_inconsistent_with_the_kept_checkpoint_or_signed_by_another_key_is_refused()
    {
        var (runner, name, _) = await PublishedAsync("log");
        using var mkt = runner;
        await mkt.OkAsync("log", "checkpoint");
        var statePath = Path.Combine(mkt.Home, "state.json");
        var original = File.ReadAllText(statePath);

        // The client kept a checkpoint whose root the registry's log does not extend: its past was rewritten.
        var state = JsonNode.Parse(original)!;
        var trust = state["registries"]!.AsObject().Single().Value!;
        trust["checkpoint"]!["rootHash"] = Convert.ToBase64String(new byte[32]);
        File.WriteAllText(statePath, state.ToJsonString());
        await mkt.OkAsync("publish", PackageFolders.Create(mkt.WorkingDirectory, name, "1.0.1"), "--wait");
        await registry.CaughtUpAsync();
        var rewritten = await mkt.ExpectAsync(ExitCodes.Verification, "log", "checkpoint");
        Assert.Contains("log-consistency", rewritten.Error, StringComparison.Ordinal);
        await mkt.ExpectAsync(ExitCodes.Verification, "install", name, "--dir", mkt.Path("out"));
        NothingWritten(mkt, "out");

        // The client pinned another key than the one the registry signs with.
        state = JsonNode.Parse(original)!;
        trust = state["registries"]!.AsObject().Single().Value!;
        using var other = StatementSigner.Generate();
        trust["publicKey"] = other.Owner.PublicKey;
        trust["keyId"] = other.Owner.KeyId;
        File.WriteAllText(statePath, state.ToJsonString());
        var otherKey = await mkt.ExpectAsync(ExitCodes.Verification, "log", "checkpoint");
        Assert.Contains("registry-key-changed", otherKey.Error, StringComparison.Ordinal);
        Assert.Contains(other.Owner.KeyId, otherKey.Error, StringComparison.Ordinal);
    }
}
