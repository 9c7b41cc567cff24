using Marketplace.Packages;

namespace Marketplace.Testing;

/// <summary>One generated package: its versions (ascending), the manifest each carries, which are yanked, and how often it is downloaded.</summary>
public sealed record CorpusPackage(string Name, IReadOnlyList<CorpusVersion> Versions, long Downloads)
{
    /// <summary>What search must show: the newest non-yanked version (stable first), or null when every version is yanked.</summary>
    public CorpusVersion? Shown =>
        Versions.LastOrDefault(v => !v.Yanked && !v.Version.Contains('-', StringComparison.Ordinal))
        ?? Versions.LastOrDefault(v => !v.Yanked);
}

public sealed record CorpusVersion(string Version, PackageManifest Manifest, bool Yanked);

/// <summary>
/// A deterministic corpus of package metadata shaped like a real registry's: names built from the words packages
/// are named after (<c>json-parser</c>, <c>async-http-client</c>), keywords drawn from the name and its topic,
/// 24 categories, a few hundred authors, the common licenses, and downloads on a Zipf curve (a few very popular
/// packages, a long tail). About 2% have their newest version yanked and 1% every version yanked. A handful of
/// fixed packages (<see cref="Landmarks"/>) give tests known names to look for.
/// </summary>
public static class SearchCorpus
{
    public static readonly string[] Words =
    [
        "json", "yaml", "toml", "http", "async", "serde", "parser", "cli", "log", "color", "date", "time", "crypto", "hash",
        "regex", "uuid", "image", "zip", "test", "mock", "sql", "redis", "cache", "config", "env", "path", "fs", "net",
        "web", "server", "client", "router", "template", "markdown", "csv", "xml", "base64", "unicode", "string", "math",
        "rand", "graph", "tree", "queue", "stream", "buffer", "bytes", "socket", "tls", "auth", "jwt", "oauth", "password",
        "email", "url", "query", "schema", "validator", "lint", "format", "pretty", "ansi", "term", "progress", "args",
        "shell", "process", "thread", "sync", "lock", "atomic", "memory", "arena", "pool", "retry", "rate", "limit",
        "metrics", "trace", "debug", "error", "macro", "derive", "plugin", "wasm", "gpu", "audio", "video", "font", "pdf",
        "html", "css", "svg", "diff", "semver", "git", "docker", "kube", "aws", "azure", "s3", "grpc", "proto", "websocket",
    ];

    private static readonly string[] Suffixes = ["rs", "js", "core", "utils", "lite", "derive", "macros", "cli", "sys", "fast", "next", "kit", "tools", "rt"];

    public static readonly string[] Categories =
    [
        "algorithms", "api-bindings", "asynchronous", "authentication", "caching", "command-line", "compression",
        "concurrency", "cryptography", "data-structures", "database", "date-and-time", "development-tools", "encoding",
        "filesystem", "graphics", "logging", "multimedia", "network", "parsing", "science", "template-engine",
        "testing", "web",
    ];

    public static readonly string[] Licenses = ["MIT", "Apache-2.0", "MIT OR Apache-2.0", "BSD-3-Clause", "ISC", "MPL-2.0", "GPL-3.0-only", "Unlicense"];

    private static readonly string[] FirstNames = ["ada", "alan", "grace", "linus", "barbara", "ken", "dennis", "margaret", "guido", "bjarne", "anders", "rob", "radia", "frances", "john", "edsger", "donald", "niklaus", "leslie", "tim"];
    private static readonly string[] LastNames = ["lovelace", "turing", "hopper", "torvalds", "liskov", "thompson", "ritchie", "hamilton", "rossum", "stroustrup", "hejlsberg", "pike", "perlman", "allen", "mccarthy", "dijkstra", "knuth", "wirth", "lamport", "berners-lee"];

    /// <summary>Fixed packages every corpus contains, for ranking and typo tests.</summary>
    public static readonly (string Name, string Description, string[] Keywords, long Downloads)[] Landmarks =
    [
        ("serde-json", "A JSON serialization file format", ["json", "serde", "serialization"], 50_000),
        ("serde", "A generic serialization and deserialization framework", ["serde", "serialization", "no-std"], 60_000),
        ("json", "Simple JSON parser and serializer", ["json", "parser"], 400),
        ("tokio", "An event-driven, non-blocking I/O platform for writing asynchronous applications", ["async", "io", "network"], 45_000),
        ("clap", "A simple to use, efficient, and full-featured command line argument parser", ["argument", "cli", "parser"], 30_000),
        // Three packages whose text matches any query the same way: only their downloads tell them apart.
        ("frob-alpha", "Frobnicator for widgets", ["frob", "widgets"], 3_000),
        ("frob-gamma", "Frobnicator for widgets", ["frob", "widgets"], 30_000),
        ("frob-delta", "Frobnicator for widgets", ["frob", "widgets"], 300),
    ];

    public static IReadOnlyList<CorpusPackage> Generate(int count, int seed = 42, long maxDownloads = 20_000)
    {
        var random = new Random(seed);
        var authors = Enumerable.Range(0, 300).Select(i => $"{FirstNames[i % FirstNames.Length]} {LastNames[i / FirstNames.Length % LastNames.Length]}").Distinct().ToArray();
        var names = new HashSet<string>(Landmarks.Select(l => l.Name), StringComparer.Ordinal);
        var packages = new List<CorpusPackage>(count);
        foreach (var (name, description, keywords, downloads) in Landmarks)
        {
            var manifest = new PackageManifest(description, ["ada lovelace"], "MIT OR Apache-2.0", Keywords: keywords,
                Categories: [name == "tokio" ? "asynchronous" : name == "clap" ? "command-line" : "encoding"]);
            packages.Add(new CorpusPackage(name, [new CorpusVersion("1.0.0", manifest, false)], downloads));
        }
        var rank = 0;
        while (packages.Count < count)
        {
            var name = NewName(random);
            if (!names.Add(name)) continue;
            rank++;
            var words = name.Split('-').Where(w => Words.Contains(w)).ToArray();
            var topic = Words[random.Next(Words.Length)];
            var keywords = words.Append(topic).Distinct().Take(5).ToArray();
            var category = Categories[(Array.IndexOf(Words, words.FirstOrDefault() ?? topic) + random.Next(3)) % Categories.Length];
            var categories = random.Next(4) == 0 ? new[] { category, Categories[random.Next(Categories.Length)] }.Distinct().ToArray() : [category];
            var packageAuthors = Enumerable.Range(0, 1 + random.Next(2)).Select(_ => authors[Zipf(random, authors.Length)]).Distinct().ToArray();
            var license = Licenses[Zipf(random, Licenses.Length)];
            var versionCount = 1 + random.Next(4);
            var versions = new List<CorpusVersion>();
            for (var v = 0; v < versionCount; v++)
            {
                var description = $"{Capitalised(string.Join(' ', name.Split('-')))}: {Phrase(random, words, topic)}";
                versions.Add(new CorpusVersion($"{v / 2}.{v % 2}.{random.Next(10)}",
                    new PackageManifest(description, packageAuthors, license, Keywords: keywords, Categories: categories), false));
            }
            var yank = random.Next(100);
            if (yank == 0) versions = versions.Select(v => v with { Yanked = true }).ToList();
            else if (yank <= 2 && versions.Count > 1) versions[^1] = versions[^1] with { Yanked = true };
            // Zipf over the generation order, shuffled by the random rank offset so popularity is not alphabetical.
            var downloads = (long)(maxDownloads / Math.Pow(rank + random.Next(50), 1.05));
            packages.Add(new CorpusPackage(name, versions, downloads));
        }
        return packages;
    }

    private static string NewName(Random random)
    {
        var a = Words[Zipf(random, Words.Length)];
        var b = Words[random.Next(Words.Length)];
        return random.Next(6) switch
        {
            0 => a,
            1 or 2 => $"{a}-{b}",
            3 => $"{a}-{b}-{Suffixes[random.Next(Suffixes.Length)]}",
            4 => $"{a}{b}",
            _ => $"{a}-{Suffixes[random.Next(Suffixes.Length)]}",
        };
    }

    private static string Phrase(Random random, string[] words, string topic)
    {
        string[] verbs = ["Fast", "Simple", "Safe", "Tiny", "Ergonomic", "Zero-copy", "Pure", "Streaming", "Typed", "Async"];
        string[] nouns = ["library", "toolkit", "implementation", "bindings", "framework", "utilities", "engine", "helpers"];
        var subject = words.Length > 0 ? words[random.Next(words.Length)] : topic;
        return $"{verbs[random.Next(verbs.Length)]} {subject} {nouns[random.Next(nouns.Length)]} for {topic} and {Words[random.Next(Words.Length)]}";
    }

    private static string Capitalised(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    /// <summary>An index in [0, n) on a Zipf-like curve: low indexes are much more frequent.</summary>
    private static int Zipf(Random random, int n) => Math.Min(n - 1, (int)Math.Floor(Math.Pow(n + 1, random.NextDouble()) - 1));
}
