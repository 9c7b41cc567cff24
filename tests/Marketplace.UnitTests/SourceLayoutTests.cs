namespace Marketplace.UnitTests;

/// <summary>Rules about how the source reads, checked on the checkout the tests run from.</summary>
public sealed class SourceLayoutTests
{
    private const int MaxLineLength = 150;

    // Temporary: files and folders the lead is editing while these lines were wrapped. The lead wraps them when
    // merging and removes these exclusions then; the list must end up empty.
    private static readonly string[] NotYetWrapped =
    [
        "functions/Marketplace.Functions/Search/Embedded/",
        "functions/Marketplace.Functions/Blobs/FileBlobStore.cs",
        "functions/Marketplace.Functions/Blobs/DurableWriter.cs",
        "functions/Marketplace.Functions/Packages/PackageCommands.cs",
        "functions/Marketplace.Functions/Packages/Publishing/",
        "functions/Marketplace.Functions/Packages/Downloading/",
        "functions/Marketplace.Functions/Infrastructure/EventWrites.cs",
        "functions/Marketplace.Functions/Infrastructure/EventStore.cs",
        "functions/Marketplace.Functions/Infrastructure/StoreProjections.cs",
        "functions/Marketplace.Domain/Packages/PackageState.cs",
        "functions/Marketplace.Domain/Packages/PackageDecider.cs",
    ];

    [Fact]
    public void no_line_of_the_functions_source_is_longer_than_150_characters()
    {
        var root = RepositoryRoot();
        var tooLong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "functions"), "*.cs", SearchOption.AllDirectories))
        {
            var path = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (path.Contains("/bin/", StringComparison.Ordinal) || path.Contains("/obj/", StringComparison.Ordinal)) continue;
            if (NotYetWrapped.Any(excluded => path.StartsWith(excluded, StringComparison.Ordinal))) continue;
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
                if (lines[i].Length > MaxLineLength)
                    tooLong.Add($"{path}:{i + 1} ({lines[i].Length} characters)");
        }

        Assert.True(tooLong.Count == 0,
            $"{tooLong.Count} line(s) longer than {MaxLineLength} characters; wrap them:\n" + string.Join('\n', tooLong));
    }

    [Fact]
    public void every_excluded_path_still_exists()
    {
        var root = RepositoryRoot();
        var gone = NotYetWrapped.Where(p => !File.Exists(Path.Combine(root, p)) && !Directory.Exists(Path.Combine(root, p))).ToList();
        Assert.True(gone.Count == 0, "Excluded from the line-length check but not in the tree: " + string.Join(", ", gone));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Serverless.sln is not above " + AppContext.BaseDirectory);
    }
}
