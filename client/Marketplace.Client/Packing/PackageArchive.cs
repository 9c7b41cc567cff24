using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Marketplace.Client.Packing;

/// <summary>
/// Package blobs are gzip-compressed tar archives. Packing is deterministic: entries sorted by path (ordinal, '/'
/// separators), directories before their contents, every timestamp <see cref="FixedTime"/>, owner 0:0 with no
/// names, modes 0755 for directories and executables and 0644 for other files — so the same folder gives the same
/// bytes and the same SHA-256 for a given mkt version on any machine. Unpacking refuses anything but plain files and
/// directories inside the target (no links, devices, absolute paths or <c>..</c>).
/// </summary>
public static class PackageArchive
{
    /// <summary>1980-01-01T00:00:00Z, the usual reproducible-build epoch (also the earliest ZIP time).</summary>
    public static readonly DateTimeOffset FixedTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Unpacked bytes a package may hold; a gzip bomb stops here.</summary>
    public const long MaxUnpackedBytes = 4L * 1024 * 1024 * 1024;

    private const UnixFileMode FileMode644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode755 = FileMode644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>Folders never packed: version control metadata.</summary>
    private static readonly HashSet<string> Skipped = new(StringComparer.Ordinal) { ".git", ".hg", ".svn" };

    /// <summary>The entries a folder packs to, in archive order: relative paths with '/', directories ending in '/'.</summary>
    public static IReadOnlyList<string> EntriesOf(string directory)
    {
        var root = Path.GetFullPath(directory);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"{directory} is not a folder.");
        var entries = new List<string>();
        void Walk(string folder, string prefix)
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(folder))
            {
                var info = new FileInfo(path);
                var name = Path.GetFileName(path);
                if (info.LinkTarget is not null)
                    throw new IOException($"{Path.GetRelativePath(root, path)} is a symbolic link; packages hold plain files and folders only.");
                if (info.Attributes.HasFlag(FileAttributes.Directory))
                {
                    if (Skipped.Contains(name)) continue;
                    entries.Add(prefix + name + "/");
                    Walk(path, prefix + name + "/");
                }
                else
                {
                    entries.Add(prefix + name);
                }
            }
        }
        Walk(root, "");
        // Ordinal order of the paths puts "a/" before "a/b" and is the same on every file system and culture.
        entries.Sort(StringComparer.Ordinal);
        return entries;
    }

    /// <summary>Packs <paramref name="directory"/> into <paramref name="output"/> (streamed, file by file).</summary>
    public static async Task PackAsync(string directory, Stream output, CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(directory);
        var entries = EntriesOf(root);
        await using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Gnu, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                var isDirectory = entry.EndsWith('/');
                var path = Path.Combine(root, entry.TrimEnd('/').Replace('/', Path.DirectorySeparatorChar));
                var tarEntry = new GnuTarEntry(isDirectory ? TarEntryType.Directory : TarEntryType.RegularFile, entry)
                {
                    ModificationTime = FixedTime,
                    AccessTime = FixedTime,
                    ChangeTime = FixedTime,
                    Uid = 0,
                    Gid = 0,
                    UserName = "",
                    GroupName = "",
                    Mode = isDirectory || IsExecutable(path) ? Mode755 : FileMode644,
                };
                if (isDirectory)
                {
                    await tar.WriteEntryAsync(tarEntry, cancellationToken);
                    continue;
                }
                await using var file = new FileStream(path, System.IO.FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
                tarEntry.DataStream = file;
                await tar.WriteEntryAsync(tarEntry, cancellationToken);
            }
        }
        await output.FlushAsync(cancellationToken);
    }

    /// <summary>Packs a folder to a file and returns the file's SHA-256 and size.</summary>
    public static async Task<(string Sha256, long Size)> PackToFileAsync(string directory, string archivePath, CancellationToken cancellationToken = default)
    {
        await using (var file = new FileStream(archivePath, System.IO.FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            await PackAsync(directory, file, cancellationToken);
        return await Http.Streams.HashFileAsync(archivePath, cancellationToken);
    }

    private static bool IsExecutable(string path) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0;

    /// <summary>
    /// Unpacks an archive into <paramref name="destination"/> (created). Refuses links, devices, absolute paths,
    /// <c>..</c> and anything landing outside the destination, and more than <see cref="MaxUnpackedBytes"/>.
    /// </summary>
    public static async Task UnpackAsync(string archivePath, string destination, CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(destination);
        Directory.CreateDirectory(root);
        await using var file = new FileStream(archivePath, System.IO.FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var tar = new TarReader(gzip);
        long total = 0;
        while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
        {
            if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes)
                continue;
            var target = SafePath(root, entry.Name);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(target);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    total += entry.Length;
                    if (total > MaxUnpackedBytes)
                        throw new VerificationException(ClientErrorCodes.UnsafeArchive, $"The archive unpacks to more than {MaxUnpackedBytes} bytes.");
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
                    if (!OperatingSystem.IsWindows())
                        options.UnixCreateMode = (entry.Mode & UnixFileMode.UserExecute) != 0 ? Mode755 : FileMode644;
                    await using (var output = new FileStream(target, options))
                    {
                        if (entry.DataStream is { } data)
                            await data.CopyToAsync(output, cancellationToken);
                    }
                    break;
                default:
                    throw new VerificationException(ClientErrorCodes.UnsafeArchive,
                        $"The archive holds '{entry.Name}' of type {entry.EntryType}; packages hold plain files and folders only.");
            }
        }
    }

    /// <summary>Reads one top-level file of an archive (the manifest) without unpacking it, or null.</summary>
    public static async Task<string?> ReadTextEntryAsync(string archivePath, string name, int maxBytes, CancellationToken cancellationToken = default)
    {
        await using var file = new FileStream(archivePath, System.IO.FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var tar = new TarReader(gzip);
        while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
        {
            var entryName = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
            if (entryName != name || entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            if (entry.Length > maxBytes)
                throw new InvalidDataException($"{name} in the archive is larger than {maxBytes} bytes.");
            using var reader = new StreamReader(entry.DataStream!, Encoding.UTF8);
            return await reader.ReadToEndAsync(cancellationToken);
        }
        return null;
    }

    /// <summary>SHA-256 over a folder's files (path, mode bit and content, in archive order): equal folders, equal digests.</summary>
    public static string TreeDigest(string directory)
    {
        var root = Path.GetFullPath(directory);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entry in EntriesOf(root))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(entry + "\n"));
            if (entry.EndsWith('/')) continue;
            var path = Path.Combine(root, entry.Replace('/', Path.DirectorySeparatorChar));
            hash.AppendData(IsExecutable(path) ? "x\n"u8 : "-\n"u8);
            using var file = File.OpenRead(path);
            hash.AppendData(SHA256.HashData(file));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string SafePath(string root, string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('\0', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal)
            || name.StartsWith('/') || Path.IsPathRooted(name) || name.Split('/').Any(s => s == ".."))
            throw new VerificationException(ClientErrorCodes.UnsafeArchive, $"The archive holds an unsafe path '{name}'.");
        var full = Path.GetFullPath(Path.Combine(root, name.TrimEnd('/')));
        if (full != root && !full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new VerificationException(ClientErrorCodes.UnsafeArchive, $"The archive's '{name}' would land outside the install folder.");
        return full;
    }
}
