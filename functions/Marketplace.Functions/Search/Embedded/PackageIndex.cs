using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Lucene.Net.Analysis.Core;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Marketplace.Functions.Search.Postgres;
using Marketplace.Search;

namespace Marketplace.Functions.Search.Embedded;

/// <summary>One package as search shows it: a row of the search documents (<c>mkt_search</c>) and its download total.</summary>
public sealed record IndexedPackage(
    string Name, string Version, string? Description, string[] Keywords, string[] Categories, string[] Authors,
    string? License, DateTimeOffset UpdatedAt, bool Visible, long Downloads);

/// <summary>
/// The in-memory search index of one instance. Lucene.Net (a <see cref="RAMDirectory"/>) finds the packages whose
/// words match: each query word as a prefix of a word of the name, keywords, description or authors (typos by
/// Levenshtein automata), or the query as a prefix of (or a typo of) the whole name. Everything else is plain
/// arrays by package slot — the shown version, the download total, facet value ordinals — so a download changes
/// a number, not a Lucene document, and filters, scores, facets and the page are one pass over the matches.
/// </summary>
/// <remarks>
/// Score = (2 · text + name bonus) · (1 + ln(1 + downloads) / 4), as the PostgreSQL adapter: text is the sum of
/// the matched fields' weights (name 1, keywords 0.6, description 0.3, authors 0.1; a typo in any of them 0.2), averaged
/// over the words and scaled into [0, 1) by <c>t/(t+1)</c>; the name bonus is 20 for the exact name, 0.3 for a
/// name that starts with the query, plus half the share of the name the query covers. One writer (the feed)
/// applies rows; any number of readers search a consistent Lucene snapshot (<see cref="SearcherManager"/>).
/// </remarks>
public sealed class PackageIndex : IDisposable
{
    private const LuceneVersion Lucene = LuceneVersion.LUCENE_48;
    /// <summary>Below this many matches, typos are searched too (Typesense's typo_tokens_threshold; the PostgreSQL adapter's).</summary>
    public const int TypoThreshold = PostgresSearch.TypoThreshold;
    private const string NameField = "name", NameWords = "nw", KeywordWords = "kw", DescriptionWords = "ds", AuthorWords = "au", SlotField = "slot";
    /// <summary>Every word of the four fields in one: typos are looked up once per query word, not once per field.</summary>
    private const string AllWords = "all";
    /// <summary>What a typo match in any field weighs (a word of the description matched exactly weighs 0.3).</summary>
    private const float TypoWeight = 0.2f;
    private static readonly (string Field, float Weight)[] Fields = [(NameWords, 1f), (KeywordWords, 0.6f), (DescriptionWords, 0.3f), (AuthorWords, 0.1f)];
    private static readonly FieldType Words = Frozen(new FieldType { IsIndexed = true, IsTokenized = true, OmitNorms = true, IndexOptions = IndexOptions.DOCS_ONLY });
    private static readonly FieldType Exact = Frozen(new FieldType { IsIndexed = true, IsTokenized = false, OmitNorms = true, IndexOptions = IndexOptions.DOCS_ONLY });

    private readonly RAMDirectory _directory = new();
    private readonly IndexWriter _writer;
    private readonly SearcherManager _searchers;
    private readonly System.Threading.Lock _write = new();
    private readonly ConcurrentDictionary<string, int> _slots = new(StringComparer.Ordinal);
    private readonly FacetValues _facets = new();
    private Slot?[] _packages = new Slot?[1024];
    private long[] _downloads = new long[1024];
    private int _count;
    /// <summary>Lucene doc id → package slot, per segment (segments never change once written).</summary>
    private readonly ConditionalWeakTable<object, int[]> _slotsOf = new();

    private sealed record Slot(IndexedPackage Package, int[] Facets);

    public PackageIndex()
    {
        var config = new IndexWriterConfig(Lucene, new WhitespaceAnalyzer(Lucene))
        {
            // One segment for the initial load (no merges on the start path); small ones for later changes,
            // merged eagerly so a search never walks many segments.
            RAMBufferSizeMB = 512,
            MaxBufferedDocs = IndexWriterConfig.DISABLE_AUTO_FLUSH,
            // In memory a compound file only costs a copy per flush and merge.
            MergePolicy = new TieredMergePolicy { SegmentsPerTier = 4, MaxMergeAtOnce = 4, NoCFSRatio = 0 },
            UseCompoundFile = false,
            OpenMode = OpenMode.CREATE,
        };
        _writer = new IndexWriter(_directory, config);
        _searchers = new SearcherManager(_writer, true, new ScoreAsWeights());
    }

    /// <summary>Packages in the index, visible or not.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The number of visible packages.</summary>
    public int VisibleCount { get; private set; }

    /// <summary>Approximate bytes held by the Lucene index (the arrays beside it are a few hundred bytes per package).</summary>
    public long LuceneBytes => _directory.GetSizeInBytes();

    /// <summary>Adds or replaces packages (by name); a row whose text is unchanged only updates its download total.</summary>
    public void Apply(IEnumerable<IndexedPackage> rows)
    {
        lock (_write)
        {
            var changed = false;
            foreach (var row in rows)
            {
                if (!_slots.TryGetValue(row.Name, out var slot))
                {
                    slot = _count;
                    Grow(slot + 1);
                    _slots[row.Name] = slot;
                    Volatile.Write(ref _count, slot + 1);
                }
                var before = _packages[slot];
                Volatile.Write(ref _downloads[slot], row.Downloads);
                if (before is not null && SameText(before.Package, row))
                {
                    _packages[slot] = before with { Package = row };
                    continue;
                }
                _packages[slot] = new Slot(row, _facets.OrdinalsOf(row));
                VisibleCount += (row.Visible ? 1 : 0) - (before?.Package.Visible == true ? 1 : 0);
                // A package seen for the first time has no document to replace: adding skips a delete by term per
                // document, which is most of the cost of the initial load.
                if (row.Visible && before?.Package.Visible != true && before is null) _writer.AddDocument(Document(row, slot));
                else if (row.Visible) _writer.UpdateDocument(new Term(NameField, row.Name), Document(row, slot));
                else if (before?.Package.Visible == true) _writer.DeleteDocuments(new Term(NameField, row.Name));
                changed = true;
            }
            if (changed) _searchers.MaybeRefreshBlocking();
        }
    }

    private void Grow(int size)
    {
        if (size <= _packages.Length) return;
        var length = Math.Max(size, _packages.Length * 2);
        var packages = new Slot?[length];
        var downloads = new long[length];
        Array.Copy(_packages, packages, _packages.Length);
        Array.Copy(_downloads, downloads, _downloads.Length);
        Volatile.Write(ref _downloads, downloads);
        Volatile.Write(ref _packages, packages);
    }

    private static bool SameText(IndexedPackage a, IndexedPackage b) =>
        a.Version == b.Version && a.Description == b.Description && a.License == b.License && a.UpdatedAt == b.UpdatedAt &&
        a.Visible == b.Visible && a.Keywords.SequenceEqual(b.Keywords) && a.Categories.SequenceEqual(b.Categories) && a.Authors.SequenceEqual(b.Authors);

    private static Document Document(IndexedPackage p, int slot) =>
    [
        new Field(NameField, p.Name, Exact),
        new Field(NameWords, Text(p.Name), Words),
        new Field(KeywordWords, Text(string.Join(' ', p.Keywords)), Words),
        new Field(DescriptionWords, Text(p.Description ?? ""), Words),
        new Field(AuthorWords, Text(string.Join(' ', p.Authors)), Words),
        new Field(AllWords, Text($"{p.Name} {string.Join(' ', p.Keywords)} {p.Description} {string.Join(' ', p.Authors)}"), Words),
        new NumericDocValuesField(SlotField, slot),
    ];

    /// <summary>The text's words as search matches them (lowercase runs of letters and digits), space separated.</summary>
    private static string Text(string text)
    {
        var output = new char[text.Length];
        for (var i = 0; i < text.Length; i++)
            output[i] = char.IsLetterOrDigit(text[i]) ? char.ToLowerInvariant(text[i]) : ' ';
        return new string(output);
    }

    private static FieldType Frozen(FieldType type)
    {
        type.Freeze();
        return type;
    }

    public SearchResult Search(SearchQuery query)
    {
        var result = Run(query, typos: false);
        // As the PostgreSQL adapter: typos when the words themselves (before filters) find less than a page.
        if (!query.IsEmpty && result.Matched < TypoThreshold)
            result = Run(query, typos: true);
        return result.Result;
    }

    private (SearchResult Result, long Matched) Run(SearchQuery query, bool typos)
    {
        var packages = Volatile.Read(ref _packages);
        var downloads = Volatile.Read(ref _downloads);
        var filter = Filter.Of(query, _facets);
        var collector = new Collection(query, filter, packages, downloads, _facets,
            query.IsEmpty ? -1 : _slots.GetValueOrDefault(string.Join('-', query.Words), -1));
        if (filter.Impossible)
            return (collector.Result(), 0);
        if (query.IsEmpty)
        {
            var count = Count;
            for (var slot = 0; slot < count; slot++) collector.Add(slot, 0);
            return (collector.Result(), collector.Matched);
        }
        var searcher = _searchers.Acquire();
        try
        {
            searcher.Search(Query(query.Words, typos), new Collector(collector, _slotsOf));
        }
        finally
        {
            _searchers.Release(searcher);
        }
        return (collector.Result(), collector.Matched);
    }

    /// <summary>Every word must match (as a prefix, or a typo when <paramref name="typos"/>), or the whole name must.</summary>
    private static BooleanQuery Query(IReadOnlyList<string> words, bool typos)
    {
        var all = new BooleanQuery(disableCoord: true);
        foreach (var word in words)
        {
            var any = new BooleanQuery(disableCoord: true);
            foreach (var (field, weight) in Fields)
                any.Add(new PrefixQuery(new Term(field, word)) { Boost = weight }, Occur.SHOULD);
            // The queries that reach the typo pass (typos, names, two words) ran 5-15x slower than single words with
            // a Levenshtein automaton per field and word (smoke run, loaded machine); building one is the likely
            // cost, so one per word, on all the words at once.
            if (typos && Edits(word) > 0)
                any.Add(Fuzzy(AllWords, word, TypoWeight), Occur.SHOULD);
            all.Add(any, Occur.MUST);
        }
        var name = string.Join('-', words);
        var top = new BooleanQuery(disableCoord: true) { { all, Occur.SHOULD } };
        top.Add(new PrefixQuery(new Term(NameField, name)) { Boost = 0 }, Occur.SHOULD);
        if (typos && Edits(name) > 0) top.Add(Fuzzy(NameField, name, 0), Occur.SHOULD);
        return top;
    }

    /// <summary>Typesense's defaults: one typo from 4 characters, two from 7.</summary>
    private static int Edits(string word) => word.Length >= 7 ? 2 : word.Length >= 4 ? 1 : 0;

    private static FuzzyQuery Fuzzy(string field, string word, float weight) =>
        // The first letter must match: the automaton then walks only the terms that start with it (typos in the
        // first letter are the rare ones).
        new(new Term(field, word), Edits(word), prefixLength: 1, maxExpansions: 50, transpositions: true)
        {
            Boost = weight,
            MultiTermRewriteMethod = MultiTermQuery.CONSTANT_SCORE_AUTO_REWRITE_DEFAULT,
        };

    /// <summary>The visible packages whose name starts with the prefix: the exact name first, then by downloads.</summary>
    public SuggestResult Suggest(SuggestQuery query)
    {
        var packages = Volatile.Read(ref _packages);
        var downloads = Volatile.Read(ref _downloads);
        var exact = _slots.GetValueOrDefault(query.Prefix, -1);
        var best = new PriorityQueue<int, (bool Exact, long Downloads, string Name)>(SuggestOrder.Instance);
        var searcher = _searchers.Acquire();
        try
        {
            searcher.Search(new PrefixQuery(new Term(NameField, query.Prefix)), new SlotCollector(_slotsOf, slot =>
            {
                if (packages[slot] is not { Package.Visible: true } p) return;
                var key = (slot == exact, downloads[slot], p.Package.Name);
                if (best.Count < SuggestQuery.Size) best.Enqueue(slot, key);
                else if (best.TryPeek(out _, out var worst) && SuggestOrder.Instance.Compare(key, worst) > 0)
                    best.EnqueueDequeue(slot, key);
            }));
        }
        finally
        {
            _searchers.Release(searcher);
        }
        var slots = new List<int>(best.Count);
        while (best.Count > 0) slots.Add(best.Dequeue());
        slots.Reverse();
        return new SuggestResult(slots.Select(s => packages[s]!.Package).Select(p => new Suggestion(p.Name, p.Version, p.Description)).ToList());
    }

    /// <summary>Worst first (the queue's head is the one to drop): not exact, fewer downloads, later name.</summary>
    private sealed class SuggestOrder : IComparer<(bool Exact, long Downloads, string Name)>
    {
        public static readonly SuggestOrder Instance = new();

        public int Compare((bool Exact, long Downloads, string Name) x, (bool Exact, long Downloads, string Name) y)
        {
            var c = x.Exact.CompareTo(y.Exact);
            if (c != 0) return c;
            c = x.Downloads.CompareTo(y.Downloads);
            return c != 0 ? c : string.CompareOrdinal(y.Name, x.Name);
        }
    }

    public void Dispose()
    {
        _searchers.Dispose();
        _writer.Dispose();
        _directory.Dispose();
    }

    /// <summary>The score of a match is the sum of its clauses' boosts: no query normalisation, no coordination factor, no tf-idf.</summary>
    private sealed class ScoreAsWeights : SearcherFactory
    {
        private static readonly Similarity Weights = new Flat();

        public override IndexSearcher NewSearcher(IndexReader reader) => new(reader) { Similarity = Weights };

        private sealed class Flat : DefaultSimilarity
        {
            public override float QueryNorm(float sumOfSquaredWeights) => 1f;
            public override float Coord(int overlap, int maxOverlap) => 1f;
        }
    }

    /// <summary>Facet values (category, keyword, author, license) as ordinals, so counting is array increments.</summary>
    private sealed class FacetValues
    {
        public const int Category = 0, Keyword = 1, Author = 2, License = 3;
        private readonly ConcurrentDictionary<(int Kind, string Value), int> _ordinals = new();
        private (int Kind, string Value)[] _values = new (int, string)[1024];
        private int _count;

        public int Count => Volatile.Read(ref _count);
        public (int Kind, string Value) this[int ordinal] => Volatile.Read(ref _values)[ordinal];

        public int Find(int kind, string value) => _ordinals.GetValueOrDefault((kind, value), -1);

        /// <summary>Called by the single writer only.</summary>
        public int[] OrdinalsOf(IndexedPackage p)
        {
            var ordinals = new List<int>(p.Categories.Length + p.Keywords.Length + p.Authors.Length + 1);
            foreach (var c in p.Categories.Distinct()) ordinals.Add(Ordinal(Category, c));
            foreach (var k in p.Keywords.Distinct()) ordinals.Add(Ordinal(Keyword, k));
            foreach (var a in p.Authors.Distinct()) ordinals.Add(Ordinal(Author, a));
            if (p.License is { } l) ordinals.Add(Ordinal(License, l));
            return [.. ordinals];
        }

        private int Ordinal(int kind, string value)
        {
            if (_ordinals.TryGetValue((kind, value), out var ordinal)) return ordinal;
            ordinal = _count;
            if (ordinal == _values.Length)
            {
                var values = new (int, string)[_values.Length * 2];
                Array.Copy(_values, values, _values.Length);
                Volatile.Write(ref _values, values);
            }
            _values[ordinal] = (kind, value);
            Volatile.Write(ref _count, ordinal + 1);
            _ordinals[(kind, value)] = ordinal;
            return ordinal;
        }
    }

    /// <summary>The query's filters as facet ordinals; a value no package has makes the result empty at once.</summary>
    private readonly record struct Filter(int Category, int Keyword, int Author, int License, long MinDownloads, bool Impossible)
    {
        public static Filter Of(SearchQuery q, FacetValues facets)
        {
            int Find(int kind, string? value) => value is null ? -1 : facets.Find(kind, value);
            var filter = new Filter(Find(FacetValues.Category, q.Category), Find(FacetValues.Keyword, q.Keyword),
                Find(FacetValues.Author, q.Author), Find(FacetValues.License, q.License), q.MinDownloads, false);
            var impossible = (q.Category is not null && filter.Category < 0) || (q.Keyword is not null && filter.Keyword < 0)
                || (q.Author is not null && filter.Author < 0) || (q.License is not null && filter.License < 0);
            return filter with { Impossible = impossible };
        }

        public bool Admits(int[] ordinals, long downloads) =>
            downloads >= MinDownloads && Has(ordinals, Category) && Has(ordinals, Keyword) && Has(ordinals, Author) && Has(ordinals, License);

        private static bool Has(int[] ordinals, int wanted) => wanted < 0 || Array.IndexOf(ordinals, wanted) >= 0;
    }

    /// <summary>One search's pass: filter, count, facet and keep the best page of the matches.</summary>
    private sealed class Collection(SearchQuery query, Filter filter, Slot?[] packages, long[] downloads, FacetValues facets, int exact)
    {
        private readonly int _keep = query.Offset + query.Limit;
        private readonly string _name = string.Join('-', query.Words);
        private readonly int[] _counts = new int[facets.Count];
        private readonly PriorityQueue<int, Rank> _best = new(RankOrder.For(query.Sort));
        private readonly int _words = Math.Max(1, query.Words.Count);
        public long Total { get; private set; }
        /// <summary>Visible packages the text matched, before the filters.</summary>
        public long Matched { get; private set; }

        /// <summary>Sorting key; for the heap the worst ranks first.</summary>
        public readonly record struct Rank(double Score, long Downloads, DateTimeOffset UpdatedAt, string Name);

        public void Add(int slot, float weights)
        {
            if (slot < 0 || slot >= packages.Length || packages[slot] is not { Package.Visible: true } p) return;
            var d = downloads[slot];
            Matched++;
            if (!filter.Admits(p.Facets, d)) return;
            Total++;
            foreach (var ordinal in p.Facets)
                if (ordinal < _counts.Length) _counts[ordinal]++;
            var rank = new Rank(Score(p.Package.Name, slot, weights, d), d, p.Package.UpdatedAt, p.Package.Name);
            if (_best.Count < _keep) _best.Enqueue(slot, rank);
            else if (_best.TryPeek(out _, out var worst) && _best.Comparer.Compare(rank, worst) > 0) _best.EnqueueDequeue(slot, rank);
        }

        private double Score(string name, int slot, float weights, long d)
        {
            var popularity = 1 + Math.Log(1 + d) / 4;
            if (query.IsEmpty) return Math.Log(1 + d);
            var text = weights / _words;
            var bonus = slot == exact ? 20 : name.StartsWith(_name, StringComparison.Ordinal) ? 0.3 : 0;
            if (name.Contains(_name, StringComparison.Ordinal)) bonus += 0.5 * _name.Length / name.Length;
            return (2 * text / (text + 1) + bonus) * popularity;
        }

        public SearchResult Result()
        {
            var page = new List<(int Slot, Rank Rank)>(_best.Count);
            while (_best.TryDequeue(out var slot, out var rank)) page.Add((slot, rank));
            page.Reverse();
            var hits = page.Skip(query.Offset).Select(h => Hit(packages[h.Slot]!.Package, downloads[h.Slot], h.Rank)).ToList();
            return new SearchResult(Total, hits, new SearchFacets(Top(FacetValues.Category), Top(FacetValues.Keyword), Top(FacetValues.Author), Top(FacetValues.License)));
        }

        private SearchHit Hit(IndexedPackage p, long d, Rank rank) =>
            new(p.Name, p.Version, p.Description, p.Keywords, p.Categories, d, Math.Round(rank.Score, 6), Highlights(p));

        private List<SearchHighlight> Highlights(IndexedPackage p)
        {
            var highlights = new List<SearchHighlight>();
            if (query.IsEmpty) return highlights;
            if (PostgresSearch.Mark(p.Name, query.Words) is { } name) highlights.Add(new SearchHighlight("name", name));
            if (p.Description is { } description && PostgresSearch.Mark(description, query.Words) is { } d) highlights.Add(new SearchHighlight("description", d));
            foreach (var keyword in p.Keywords)
                if (PostgresSearch.Mark(keyword, query.Words) is { } k) highlights.Add(new SearchHighlight("keywords", k));
            foreach (var author in p.Authors)
                if (PostgresSearch.Mark(author, query.Words) is { } a) highlights.Add(new SearchHighlight("authors", a));
            return highlights;
        }

        private List<FacetCount> Top(int kind)
        {
            var top = new List<FacetCount>();
            for (var ordinal = 0; ordinal < _counts.Length; ordinal++)
            {
                if (_counts[ordinal] == 0) continue;
                var (k, value) = facets[ordinal];
                if (k == kind) top.Add(new FacetCount(value, _counts[ordinal]));
            }
            top.Sort((a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.Value, b.Value));
            return top.Count > SearchQuery.FacetValues ? top[..SearchQuery.FacetValues] : top;
        }
    }

    /// <summary>Worst first: the heap's head is the match to drop when a better one comes.</summary>
    private sealed class RankOrder(SearchSort sort) : IComparer<Collection.Rank>
    {
        private static readonly RankOrder Relevance = new(SearchSort.Relevance), Downloads = new(SearchSort.Downloads), Recent = new(SearchSort.Recent);

        public static RankOrder For(SearchSort sort) => sort switch
        {
            SearchSort.Downloads => Downloads,
            SearchSort.Recent => Recent,
            _ => Relevance,
        };

        /// <summary>Positive when <paramref name="x"/> ranks before <paramref name="y"/>.</summary>
        public int Compare(Collection.Rank x, Collection.Rank y)
        {
            var c = sort switch
            {
                SearchSort.Relevance => x.Score.CompareTo(y.Score) is var s and not 0 ? s : x.Downloads.CompareTo(y.Downloads),
                SearchSort.Downloads => x.Downloads.CompareTo(y.Downloads),
                _ => x.UpdatedAt.CompareTo(y.UpdatedAt),
            };
            return c != 0 ? c : string.CompareOrdinal(y.Name, x.Name);
        }
    }

    /// <summary>Lucene's side of a search: each matching document's slot and summed clause weights.</summary>
    private sealed class Collector(Collection collection, ConditionalWeakTable<object, int[]> slotsOf) : ICollector
    {
        private Scorer? _scorer;
        private int[] _slots = [];

        public void SetScorer(Scorer scorer) => _scorer = scorer;

        public void Collect(int doc) => collection.Add(_slots[doc], _scorer!.GetScore());

        public void SetNextReader(AtomicReaderContext context) => _slots = SlotsOf(context.AtomicReader, slotsOf);

        public bool AcceptsDocsOutOfOrder => true;
    }

    private sealed class SlotCollector(ConditionalWeakTable<object, int[]> slotsOf, Action<int> add) : ICollector
    {
        private int[] _slots = [];

        public void SetScorer(Scorer scorer)
        {
        }

        public void Collect(int doc) => add(_slots[doc]);

        public void SetNextReader(AtomicReaderContext context) => _slots = SlotsOf(context.AtomicReader, slotsOf);

        public bool AcceptsDocsOutOfOrder => true;
    }

    private static int[] SlotsOf(AtomicReader reader, ConditionalWeakTable<object, int[]> slotsOf) =>
        slotsOf.GetValue(reader.CoreCacheKey, _ =>
        {
            var values = reader.GetNumericDocValues(SlotField);
            var slots = new int[reader.MaxDoc];
            for (var doc = 0; doc < slots.Length; doc++) slots[doc] = values is null ? -1 : (int)values.Get(doc);
            return slots;
        });
}
