using System.Text.Json;
using Marketplace.Cli;
using Marketplace.Client.Packing;
using Marketplace.Client.Tests.Support;

namespace Marketplace.Client.Tests.EndToEnd;

/// <summary>
/// The CLI against the real service on real PostgreSQL, the way a publisher and a user would drive it: keys, publishes
/// (inline and through a presigned upload), search, an install of a three-level graph that is verified end to end,
/// reproducible reinstalls from the lockfile, a yank, and owner changes.
/// </summary>
[Collection("journey")]
public sealed class JourneyTests(JourneyRegistry registry)
{
    private static JsonElement Package(JsonElement install, string name) =>
        install.GetProperty("packages").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name);

    [Fact]
    public async Task key_publish_search_install_yank_reinstall_and_owners_through_the_cli()
    {
        using var mkt = new CliRunner(registry.Url);
        var word = "zq" + Guid.NewGuid().ToString("n")[..8];
        var (app, mid, leaf, big) = (PackageFolders.Unique("app"), PackageFolders.Unique("mid"), PackageFolders.Unique("leaf"), PackageFolders.Unique("big"));

        // A key, in a keyring only its owner can read.
        var key = (await mkt.OkAsync("key", "new", "alice", "--json")).Json;
        var alice = key.GetProperty("keyId").GetString()!;
        var keyring = key.GetProperty("keyring").GetString()!;
        Assert.Equal(Path.Combine(mkt.Home, "keys.json"), keyring);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyring));

        // app → mid → leaf (three levels), app → big (a blob over the inline limit, so a presigned upload).
        var w = mkt.WorkingDirectory;
        var folders = new[]
        {
            PackageFolders.Create(w, leaf, "1.0.0", keywords: [word]),
            PackageFolders.Create(w, leaf, "1.1.0", keywords: [word]),
            PackageFolders.Create(w, leaf, "2.0.0", keywords: [word]),
            PackageFolders.Create(w, mid, "1.0.0", new Dictionary<string, string> { [leaf] = "^1.0.0" }, keywords: [word]),
            PackageFolders.Create(w, big, "1.0.0", randomBytes: 3 * 1024 * 1024 + 512 * 1024, keywords: [word]),
            PackageFolders.Create(w, app, "1.0.0", new Dictionary<string, string> { [mid] = "~1.0", [big] = ">=1.0.0 <2" }, description: $"The app {word}", keywords: [word]),
        };
        var published = new List<JsonElement>();
        foreach (var folder in folders)
            published.Add((await mkt.OkAsync("publish", folder, "--wait", "--json")).Json);
        Assert.All(published, p => Assert.True(p.GetProperty("searchVisible").GetBoolean()));
        Assert.All(published, p => Assert.Equal(alice, p.GetProperty("keyId").GetString()));
        Assert.True(published[4].GetProperty("uploaded").GetBoolean(), "a blob over 3 MiB goes through POST /v1/uploads and a presigned PUT");
        Assert.True(published[4].GetProperty("size").GetInt64() > 3 * 1024 * 1024);
        Assert.False(published[0].GetProperty("uploaded").GetBoolean(), "a small blob goes inline");

        // Search finds them once visible; info and versions read the registry.
        var search = (await mkt.OkAsync("search", word, "--json")).Json;
        var hits = search.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("name").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { app, mid, leaf, big }, hits);
        var table = await mkt.OkAsync("search", word);
        Assert.Contains(app, table.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", table.Out, StringComparison.Ordinal); // no colours when not a terminal
        var versions = (await mkt.OkAsync("versions", leaf, "--json")).Json;
        Assert.Equal(["2.0.0", "1.1.0", "1.0.0"], versions.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        var info = (await mkt.OkAsync("info", $"{app}@1.0.0", "--json")).Json;
        Assert.Equal("~1.0", info.GetProperty("manifest").GetProperty("dependencies").GetProperty(mid).GetString());
        await registry.CaughtUpAsync();

        // Install: the whole graph, highest compatible versions, verified, unpacked, locked.
        var first = mkt.Path("first");
        var install = (await mkt.OkAsync("install", app, "--dir", first, "--json")).Json;
        Assert.Equal(4, install.GetProperty("packages").GetArrayLength());
        Assert.Equal("1.1.0", Package(install, leaf).GetProperty("version").GetString()); // ^1.0.0 excludes 2.0.0
        Assert.Equal("1.0.0", Package(install, big).GetProperty("version").GetString());
        Assert.Equal($"{leaf} 1.1.0\n", File.ReadAllText(Path.Combine(first, leaf, "lib", "index.txt")));
        Assert.Equal(3 * 1024 * 1024 + 512 * 1024, new FileInfo(Path.Combine(first, big, "lib", "data.bin")).Length);
        var lockPath = Path.Combine(first, "mkt.lock");
        var lockBytes = File.ReadAllBytes(lockPath);
        var lockJson = JsonDocument.Parse(lockBytes).RootElement;
        Assert.Equal("^1.0.0", lockJson.GetProperty("requires").GetProperty(app).GetString());
        Assert.Equal("1.1.0", lockJson.GetProperty("packages").GetProperty(leaf).GetProperty("version").GetString());
        Assert.Equal(alice, lockJson.GetProperty("packages").GetProperty(mid).GetProperty("keyId").GetString());
        var tree = PackageArchive.TreeDigest(first);

        // A second install with the lockfile reproduces it exactly, in place and in a fresh folder (--frozen).
        var again = (await mkt.OkAsync("install", "--dir", first, "--json")).Json;
        Assert.False(again.GetProperty("lockfileChanged").GetBoolean());
        Assert.Equal(lockBytes, File.ReadAllBytes(lockPath));
        Assert.Equal(tree, PackageArchive.TreeDigest(first));
        var copy = mkt.Path("copy");
        Directory.CreateDirectory(copy);
        File.Copy(lockPath, Path.Combine(copy, "mkt.lock"));
        await mkt.OkAsync("install", "--dir", copy, "--frozen");
        Assert.Equal(tree, PackageArchive.TreeDigest(copy));

        // A newer leaf 1.2.0 does not move a locked install.
        await mkt.OkAsync("publish", PackageFolders.Create(w, leaf, "1.2.0"), "--wait");
        await registry.CaughtUpAsync();
        await mkt.OkAsync("install", "--dir", first, "--frozen");
        Assert.Equal(lockBytes, File.ReadAllBytes(lockPath));

        // Yank leaf 1.1.0 (and 1.2.0): the locked install keeps 1.1.0; a fresh one skips the yanked versions.
        var yank = (await mkt.OkAsync("yank", $"{leaf}@1.1.0", "--reason", "broken build", "--json")).Json;
        Assert.True(yank.GetProperty("yanked").GetBoolean());
        await mkt.OkAsync("yank", $"{leaf}@1.2.0");
        await registry.CaughtUpAsync();
        var locked = (await mkt.OkAsync("install", "--dir", first, "--json")).Json;
        Assert.Equal("1.1.0", Package(locked, leaf).GetProperty("version").GetString());
        Assert.True(Package(locked, leaf).GetProperty("yanked").GetBoolean());
        Assert.True(Package(locked, leaf).GetProperty("fromLockfile").GetBoolean());
        Assert.Equal(lockBytes, File.ReadAllBytes(lockPath));
        var fresh = (await mkt.OkAsync("install", app, "--dir", mkt.Path("fresh"), "--json")).Json;
        Assert.Equal("1.0.0", Package(fresh, leaf).GetProperty("version").GetString());
        var onlyYanked = await mkt.ExpectAsync(ExitCodes.NotFound, "install", $"{leaf}@~1.1", "--dir", mkt.Path("none"));
        Assert.Contains("only yanked versions match (1.1.0)", onlyYanked.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(mkt.Path("none")));

        // Owners: alice adds bob; bob publishes and removes alice; alice can no longer yank.
        var bob = (await mkt.OkAsync("key", "new", "bob", "--json")).Json;
        var owners = (await mkt.OkAsync("owners", "add", app, "bob", "--json")).Json;
        Assert.Equal(2, owners.GetProperty("owners").GetArrayLength());
        await mkt.OkAsync("publish", PackageFolders.Create(w, app, "1.0.1", new Dictionary<string, string> { [mid] = "~1.0" }), "--key", "bob", "--wait");
        owners = (await mkt.OkAsync("owners", "remove", app, "alice", "--key", "bob", "--json")).Json;
        Assert.Equal([bob.GetProperty("keyId").GetString()], owners.GetProperty("owners").EnumerateArray().Select(o => o.GetProperty("keyId").GetString()));
        var listed = await mkt.OkAsync("owners", "list", app);
        Assert.Contains(bob.GetProperty("keyId").GetString()!, listed.Out, StringComparison.Ordinal);
        var refused = await mkt.ExpectAsync(ExitCodes.Failure, "yank", $"{app}@1.0.0");
        Assert.Contains("not-owner", refused.Error, StringComparison.Ordinal);
        await mkt.ExpectAsync(ExitCodes.Conflict, "owners", "remove", app, "bob", "--key", "bob");
        await registry.CaughtUpAsync();
        // Both signatures check out against the owners of their time: 1.0.0 by alice, 1.0.1 by bob.
        var byBob = (await mkt.OkAsync("install", $"{app}@1.0.1", "--dir", mkt.Path("bob"), "--json")).Json;
        Assert.Equal(bob.GetProperty("keyId").GetString(), Package(byBob, app).GetProperty("keyId").GetString());
        await mkt.OkAsync("install", $"{app}@1.0.0", "--dir", mkt.Path("alice"));
    }

    [Fact]
    public async Task the_audit_feed_mirrors_resumes_and_proves_against_the_log()
    {
        using var mkt = new CliRunner(registry.Url);
        await mkt.OkAsync("key", "new");
        var name = PackageFolders.Unique("feed");
        await mkt.OkAsync("publish", PackageFolders.Create(mkt.WorkingDirectory, name, "1.0.0"), "--wait");
        await registry.CaughtUpAsync();

        var mirror = mkt.Path("events.ndjson");
        var first = (await mkt.OkAsync("events", "mirror", mirror, "--page-size", "2", "--json")).Json;
        Assert.Equal(0, first.GetProperty("resumedAfter").GetInt64());
        Assert.True(first.GetProperty("events").GetInt64() >= 2);
        var lines = File.ReadAllLines(mirror);
        Assert.Contains(lines, l => l.Contains($"\"subject\":\"{name}@1.0.0\"", StringComparison.Ordinal));
        var lastLine = JsonDocument.Parse(lines[^1]).RootElement.GetProperty("sequence").GetInt64();

        await mkt.OkAsync("publish", PackageFolders.Create(mkt.WorkingDirectory, name, "1.0.1"), "--wait");
        await registry.CaughtUpAsync();
        var second = (await mkt.OkAsync("events", "mirror", mirror, "--json")).Json;
        Assert.Equal(lastLine, second.GetProperty("resumedAfter").GetInt64()); // resumes after the file's last line
        Assert.Equal(1, second.GetProperty("events").GetInt64());
        var all = File.ReadAllLines(mirror).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(all.Distinct().Order(), all);

        var checkpoint = (await mkt.OkAsync("log", "checkpoint", "--json")).Json;
        Assert.True(checkpoint.GetProperty("treeSize").GetInt64() >= 3);
        await mkt.OkAsync("log", "verify", name, "--events", mirror);
    }

    [Fact]
    public async Task a_dependency_conflict_is_reported_with_the_paths_that_caused_it_and_nothing_is_written()
    {
        using var mkt = new CliRunner(registry.Url);
        await mkt.OkAsync("key", "new");
        var (top, left, right, shared) = (PackageFolders.Unique("top"), PackageFolders.Unique("left"), PackageFolders.Unique("right"), PackageFolders.Unique("shared"));
        var w = mkt.WorkingDirectory;
        foreach (var folder in new[]
                 {
                     PackageFolders.Create(w, shared, "1.0.0"),
                     PackageFolders.Create(w, shared, "2.0.0"),
                     PackageFolders.Create(w, left, "1.0.0", new Dictionary<string, string> { [shared] = "^1" }),
                     PackageFolders.Create(w, right, "1.0.0", new Dictionary<string, string> { [shared] = "^2" }),
                     PackageFolders.Create(w, top, "1.0.0", new Dictionary<string, string> { [left] = "1", [right] = "1" }),
                 })
            await mkt.OkAsync("publish", folder, "--wait");
        await registry.CaughtUpAsync();

        var conflict = await mkt.ExpectAsync(ExitCodes.Conflict, "install", top, "--dir", mkt.Path("out"));
        Assert.Contains($"root → {top}@1.0.0 → {left}@1.0.0 requires {shared} ^1", conflict.Error, StringComparison.Ordinal);
        Assert.Contains($"root → {top}@1.0.0 → {right}@1.0.0 requires {shared} ^2", conflict.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(mkt.Path("out")));
        await mkt.ExpectAsync(ExitCodes.NotFound, "install", PackageFolders.Unique("nothing"), "--dir", mkt.Path("out"));
        await mkt.ExpectAsync(ExitCodes.Usage, "install", "--no-such-option");
    }
}
