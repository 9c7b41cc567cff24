using Marketplace.Functions.Search.Embedded;

namespace Marketplace.Testing;

/// <summary>The search corpus as the embedded index's rows, without the API or a database in between.</summary>
public static class CorpusRows
{
    /// <summary>
    /// Each package as the search documents show it: its shown version (or its last, hidden, when every version is
    /// yanked), updated a minute after the one before from <paramref name="firstUpdate"/>.
    /// </summary>
    public static List<IndexedPackage> Of(IReadOnlyList<CorpusPackage> corpus, DateTimeOffset firstUpdate) =>
        corpus.Select((p, i) =>
        {
            var shown = p.Shown ?? p.Versions[^1];
            var m = shown.Manifest;
            return new IndexedPackage(p.Name, shown.Version, m.Description, [.. m.Keywords ?? []], [.. m.Categories ?? []], [.. m.Authors ?? []],
                m.License, firstUpdate.AddMinutes(i), p.Shown is not null, p.Downloads);
        }).ToList();
}
