namespace Marketplace.Benchmark;

/// <summary>
/// Where each side of a run keeps its blobs: one folder per side, kept from run to run instead of deleted at the end.
/// This machine's root filesystem is ext4 without a journal, and there every file created scans past the free inodes
/// of its block group deleted in the last minute (five, while their inode table is unwritten): right after deleting
/// 20,000 files, a Python loop creating 5,000 more took 430 µs a file against 26–32 µs otherwise, and a publish run
/// started a minute after the previous run deleted its blobs spent 9% of the machine's samples in
/// <c>__ext4_new_inode → find_inode_bit → recently_deleted</c>, paid by whichever side's folder the allocator put
/// in the freed groups. Blobs are content-addressed and random per run, so the ones left over are never read again.
/// </summary>
internal static class BlobRoots
{
    public static string Parent { get; } = Path.Combine(Path.GetTempPath(), "marketplace-bench-blobs");

    /// <summary>Above this a side's folder is emptied before the run (and the run is told why it may be slower).</summary>
    public const long PruneBytes = 4L << 30;

    public static string For(string side, TextWriter output)
    {
        var root = Path.Combine(Parent, side);
        if (Directory.Exists(root))
        {
            var bytes = new DirectoryInfo(root).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            if (bytes > PruneBytes)
            {
                Directory.Delete(root, recursive: true);
                output.WriteLine($"  blobs:       emptied {root} ({bytes >> 20} MB kept from earlier runs); on this machine's " +
                                 "journal-less ext4 the next few minutes of file creation cost more (see BlobRoots.cs)");
            }
        }
        Directory.CreateDirectory(root);
        return root;
    }
}
