using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Marketplace.Client.Packing;
using Marketplace.Client.Tests.Support;

namespace Marketplace.Client.Tests.Packing;

public sealed class PackageArchiveTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("mkt-pack-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private string Temp(string name) => Directory.CreateDirectory(Path.Combine(_scratch, name + "-" + Guid.NewGuid().ToString("n")[..6])).FullName;

    private string TempFile() => Path.Combine(_scratch, Guid.NewGuid().ToString("n") + ".tar.gz");

    private string Folder() => PackageFolders.Create(Temp("src"), "packed", "1.0.0", randomBytes: 100_000);

    private string CopyOf(string folder, bool reverseCreationOrder)
    {
        var copy = Temp("copy");
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        if (reverseCreationOrder) files.Reverse();
        foreach (var file in files)
        {
            var target = Path.Combine(copy, Path.GetRelativePath(folder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return copy;
    }

    [Fact]
    public async Task the_same_folder_packs_to_the_same_bytes_whatever_its_times_and_creation_order()
    {
        var folder = Folder();
        var first = TempFile();
        var (sha1, size1) = await PackageArchive.PackToFileAsync(folder, first);

        var copy = CopyOf(folder, reverseCreationOrder: true);
        foreach (var path in Directory.EnumerateFileSystemEntries(copy, "*", SearchOption.AllDirectories))
            File.SetLastWriteTimeUtc(path, new DateTime(2031, 5, 6, 7, 8, 9, DateTimeKind.Utc));
        var second = TempFile();
        var (sha2, size2) = await PackageArchive.PackToFileAsync(copy, second);

        Assert.Equal(sha1, sha2);
        Assert.Equal(size1, size2);
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(first))), sha1);
    }

    [Fact]
    public async Task entries_are_sorted_with_fixed_times_owners_and_modes()
    {
        var folder = Folder();
        if (!OperatingSystem.IsWindows())
        {
            File.WriteAllText(Path.Combine(folder, "run.sh"), "#!/bin/sh\necho hi\n");
            File.SetUnixFileMode(Path.Combine(folder, "run.sh"), (UnixFileMode)0b111_000_000);
            File.SetUnixFileMode(Path.Combine(folder, "README.md"), (UnixFileMode)0b110_000_000);
        }
        Directory.CreateDirectory(Path.Combine(folder, ".git"));
        File.WriteAllText(Path.Combine(folder, ".git", "HEAD"), "ref: refs/heads/main\n");
        var archive = TempFile();
        await PackageArchive.PackToFileAsync(folder, archive);

        var entries = new List<TarEntry>();
        await using (var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress))
        await using (var tar = new TarReader(gzip))
            while (await tar.GetNextEntryAsync() is { } entry) entries.Add(entry);

        var names = entries.Select(e => e.Name).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Contains("lib/", names);
        Assert.Contains("lib/index.txt", names);
        Assert.DoesNotContain(names, n => n.StartsWith(".git", StringComparison.Ordinal));
        Assert.All(entries, e => Assert.Equal(PackageArchive.FixedTime, e.ModificationTime));
        Assert.All(entries.OfType<PosixTarEntry>(), e => Assert.Equal((0, 0, "", ""), (e.Uid, e.Gid, e.UserName, e.GroupName)));
        Assert.Equal((UnixFileMode)Convert.ToInt32("644", 8), entries.Single(e => e.Name == "README.md").Mode);
        Assert.Equal((UnixFileMode)Convert.ToInt32("755", 8), entries.Single(e => e.Name == "lib/").Mode);
        if (!OperatingSystem.IsWindows())
            Assert.Equal((UnixFileMode)Convert.ToInt32("755", 8), entries.Single(e => e.Name == "run.sh").Mode);
    }

    [Fact]
    public async Task a_packed_folder_unpacks_to_an_equal_folder()
    {
        var folder = Folder();
        var archive = TempFile();
        await PackageArchive.PackToFileAsync(folder, archive);
        var target = Path.Combine(Temp("unpack"), "out");
        await PackageArchive.UnpackAsync(archive, target);
        Assert.Equal(PackageArchive.TreeDigest(folder), PackageArchive.TreeDigest(target));
    }

    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("/etc/evil.txt")]
    [InlineData("lib/../../evil.txt")]
    public async Task an_archive_escaping_its_folder_is_refused(string name)
    {
        var archive = TempFile();
        await using (var file = File.Create(archive))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Gnu))
        {
            var entry = new GnuTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream("x"u8.ToArray()) };
            await tar.WriteEntryAsync(entry);
        }
        var target = Path.Combine(Temp("unpack"), "out");
        var e = await Assert.ThrowsAsync<VerificationException>(() => PackageArchive.UnpackAsync(archive, target));
        Assert.Equal(ClientErrorCodes.UnsafeArchive, e.Code);
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(target)!, "evil.txt")));
    }

    [Fact]
    public async Task a_link_in_an_archive_is_refused()
    {
        var archive = TempFile();
        await using (var file = File.Create(archive))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Gnu))
            await tar.WriteEntryAsync(new GnuTarEntry(TarEntryType.SymbolicLink, "link") { LinkName = "/etc/passwd" });
        var e = await Assert.ThrowsAsync<VerificationException>(() => PackageArchive.UnpackAsync(archive, Temp("unpack")));
        Assert.Contains("SymbolicLink", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task the_cli_packs_the_same_folder_to_the_same_digest_twice()
    {
        using var mkt = new CliRunner(new Uri("http://127.0.0.1:9"));
        var folder = PackageFolders.Create(mkt.WorkingDirectory, "twice", "1.2.3", randomBytes: 10_000);
        var one = (await mkt.OkAsync("pack", folder, "-o", "one.tar.gz", "--json")).Json;
        var two = (await mkt.OkAsync("pack", folder, "-o", "two.tar.gz", "--json")).Json;
        Assert.Equal(one.GetProperty("sha256").GetString(), two.GetProperty("sha256").GetString());
        Assert.Equal(File.ReadAllBytes(mkt.Path("one.tar.gz")), File.ReadAllBytes(mkt.Path("two.tar.gz")));
    }

    [Fact]
    public async Task a_manifest_is_checked_with_the_registry_rules_before_anything_is_signed()
    {
        using var mkt = new CliRunner(new Uri("http://127.0.0.1:9"));
        var folder = Path.Combine(mkt.WorkingDirectory, "bad");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "mkt.json"), """{"name": "ok-name", "version": "1.0.0", "licence": "MIT"}""");
        var typo = await mkt.ExpectAsync(Marketplace.Cli.ExitCodes.Usage, "pack", folder);
        Assert.Contains("licence", typo.Error, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(folder, "mkt.json"), """{"name": "ok-name", "version": "1.0", "license": "MIT"}""");
        Assert.Contains("SemVer", (await mkt.ExpectAsync(Marketplace.Cli.ExitCodes.Usage, "pack", folder)).Error, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(folder, "mkt.json"), """{"name": "ok-name", "version": "1.0.0", "dependencies": {"x": "^^1"}}""");
        Assert.Contains("npm-style", (await mkt.ExpectAsync(Marketplace.Cli.ExitCodes.Usage, "pack", folder)).Error, StringComparison.Ordinal);
    }
}
