using System.Security.Cryptography;
using System.Text.Json;

namespace Marketplace.Client.Tests.Support;

/// <summary>Package folders with an mkt.json, written the way a publisher would.</summary>
public static class PackageFolders
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("n")[..8]}";

    public static string Create(string parent, string name, string version, IReadOnlyDictionary<string, string>? dependencies = null,
        string? description = null, int randomBytes = 0, IReadOnlyList<string>? keywords = null)
    {
        var folder = Path.Combine(parent, "src", name, version);
        Directory.CreateDirectory(Path.Combine(folder, "lib"));
        File.WriteAllText(Path.Combine(folder, "mkt.json"), JsonSerializer.Serialize(new
        {
            name,
            version,
            description = description ?? $"The {name} package",
            authors = new[] { "Ada <ada@example.com>" },
            license = "MIT",
            keywords = keywords ?? ["testing"],
            categories = new[] { "tools" },
            dependencies = dependencies ?? new Dictionary<string, string>(),
        }));
        File.WriteAllText(Path.Combine(folder, "README.md"), $"# {name}\n\nVersion {version}.\n");
        File.WriteAllText(Path.Combine(folder, "lib", "index.txt"), $"{name} {version}\n");
        if (randomBytes > 0)
            File.WriteAllBytes(Path.Combine(folder, "lib", "data.bin"), RandomNumberGenerator.GetBytes(randomBytes));
        return folder;
    }
}
