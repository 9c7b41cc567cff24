namespace Marketplace.UnitTests;

/// <summary>Rules about how the source reads, checked on the checkout the tests run from.</summary>
public sealed class SourceLayoutTests
{
    private const int MaxLineLength = 150;

    [Fact]
    public void no_line_of_the_functions_or_projections_source_is_longer_than_150_characters()
    {
        var root = RepositoryRoot();
        var tooLong = new List<string>();
        var files = new[] { "functions", "projections" }
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories));
        foreach (var file in files)
        {
            var path = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (path.Contains("/bin/", StringComparison.Ordinal) || path.Contains("/obj/", StringComparison.Ordinal)) continue;
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
                if (lines[i].Length > MaxLineLength)
                    tooLong.Add($"{path}:{i + 1} ({lines[i].Length} characters)");
        }

        Assert.True(tooLong.Count == 0,
            $"{tooLong.Count} line(s) longer than {MaxLineLength} characters; wrap them:\n" + string.Join('\n', tooLong));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Serverless.sln is not above " + AppContext.BaseDirectory);
    }
}
