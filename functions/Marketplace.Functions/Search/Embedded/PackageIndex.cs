using System.Collections.Concurrent;
using Marketplace.Functions.Search.Postgres;
using Marketplace.Search;

namespace Marketplace.Functions.Search.Embedded;

/// <summary>One package as search shows it: a row of the search documents (<c>mkt_search</c>) and its download total.</summary>
public sealed record IndexedPackage(
    string Name, string Version, string? Description, string[] Keywords, string[] Categories, string[] Authors,
    string? License, DateTimeOffset UpdatedAt, bool Visible, long Downloads);

/// <summary>
/// The in-memory search index of one instance: for each searched field (the name's words, keywords, description,
/// authors) a sorted vocabulary whose terms hold the package slots they occur in; beside it plain arrays by package
/// slot — the shown version, the download total, facet value ordinals. A query word is a prefix range of each
/// vocabulary (a binary search), its matches the union of the range's postings; typos are terms of the union of
/// the four vocabularies within 1 or 2 edits. Filters, scores, facets and the page are one pass over the matches.
/// </summary>
/// <remarks>
/// <para>
/// Score = (2 · text + name bonus) · (1 + ln(1 + downloads) / 4), as the PostgreSQL adapter: text is the sum of
/// the matched fields' weights (name 1, keywords 0.6, description 0.3, authors 0.1; a typo in any of them 0.2), averaged
/// over the words and scaled into [0, 1) by <c>t/(t+1)</c>; the name bonus is 20 for the exact name, 0.3 for a
/// name that starts with the query, plus half the share of the name the query covers.
/// </para>
/// <para>
/// Why not Lucene.Net, which this index replaced: at 100,000 packages the same queries cost 5.2 ms of CPU each on
/// Lucene.Net 4.8 (a <c>RAMDirectory</c>, one segment), three quarters of it in Lucene's search — rewriting every
/// prefix and fuzzy query by walking its terms' dictionary and building a filter per query — against a target of
/// about 1 ms. Registry search needs none of what that machinery is for (positions, tf-idf, segments on disk).
/// </para>
/// <para>
/// One writer (the feed) applies rows; any number of readers search without a lock. A term's postings are
/// immutable arrays replaced whole, and a vocabulary's sorted term array is replaced whole when terms are added, so a
/// reader always walks complete arrays; during a batch it may see some rows applied and not others, never a torn one.
/// </para>
/// </remarks>
public sealed class PackageIndex
{
    /// <summary>Below this many matches, typos are searched too (Typesense's typo_tokens_threshold; the PostgreSQL adapter's).</summary>
    public const int TypoThreshold = PostgresSearch.TypoThreshold;
    /// <summary>What a typo match in any field weighs (a word of the description matched exactly weighs 0.3).</summary>
    private const float TypoWeight = 0.2f;
    private const int NameWords = 0, KeywordWords = 1, DescriptionWords = 2, AuthorWords = 3, FieldCount = 4;
    private static readonly float[] FieldWeights = [1f, 0.6f, 0.3f, 0.1f];

    private readonly System.Threading.Lock _write = new();
    private readonly ConcurrentDictionary<string, int> _slots = new(StringComparer.Ordinal);
    private readonly FacetValues _facets = new();
    private readonly Vocabulary[] _fields = [new(), new(), new(), new()];
    /// <summary>Every word of the four fields: typos are looked up once per query word, not once per field.</summary>
    private readonly Vocabulary _allWords = new();
    /// <summary>Whole names of visible packages: suggestions and typos of a whole name.</summary>
    private readonly Vocabulary _names = new();
    /// <summary>Facet value ordinal (as text) → the visible packages that have it: a filter walks only its own packages.</summary>
    private readonly Vocabulary _facetPackages = new();
    private readonly ConcurrentBag<Scratch> _scratch = [];
    private Columns _columns = new(1024);
    private int _count;
    private int _visible;
    /// <summary>
    /// Changes whenever a package's text or visibility changes (downloads aside): the unfiltered facet counts are cached per
    /// version.
    /// </summary>
    private long _textVersion;
    private FacetCache? _everyFacet;

    private sealed record FacetCache(long Version, int[] Counts);

    /// <summary>
    /// What a search reads of every package, by slot, in arrays of their own (a pass over 100,000 matches reads
    /// flags and numbers side by side instead of following a pointer per package). Replaced whole when it grows.
    /// </summary>
    private sealed class Columns(int length)
    {
        public readonly IndexedPackage?[] Packages = new IndexedPackage?[length];
        public readonly bool[] Visible = new bool[length];
        public readonly long[] Downloads = new long[length];
        /// <summary>1 + ln(1 + downloads) / 4: what a match's text score is multiplied by.</summary>
        public readonly double[] Popularity = new double[length];
        public readonly long[] Updated = new long[length];
        public readonly int[][] Facets = new int[length][];
        public int Length => Packages.Length;

        public Columns Grown(int size)
        {
            var grown = new Columns(Math.Max(size, Length * 2));
            Array.Copy(Packages, grown.Packages, Length);
            Array.Copy(Visible, grown.Visible, Length);
            Array.Copy(Downloads, grown.Downloads, Length);
            Array.Copy(Popularity, grown.Popularity, Length);
            Array.Copy(Updated, grown.Updated, Length);
            Array.Copy(Facets, grown.Facets, Length);
            return grown;
        }
    }

    /// <summary>Packages in the index, visible or not.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The number of visible packages.</summary>
    public int VisibleCount => Volatile.Read(ref _visible);

    /// <summary>Approximate bytes held by the vocabularies and postings (the arrays by slot are about 50 bytes per package more).</summary>
    public long IndexBytes() => _fields.Sum(f => f.Bytes()) + _allWords.Bytes() + _names.Bytes() + _facetPackages.Bytes();

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
                    if (slot >= _columns.Length) Volatile.Write(ref _columns, _columns.Grown(slot + 1));
                    _slots[row.Name] = slot;
                    Volatile.Write(ref _count, slot + 1);
                }
                var columns = _columns;
                var before = columns.Packages[slot];
                Volatile.Write(ref columns.Downloads[slot], row.Downloads);
                Volatile.Write(ref columns.Popularity[slot], PopularityOf(row.Downloads));
                if (before is not null && SameText(before, row))
                {
                    columns.Packages[slot] = row;
                    continue;
                }
                var wasVisible = before?.Visible == true;
                var (wordsBefore, facetsBefore) = wasVisible ? (WordsOf(before!), columns.Facets[slot]) : (Empty, []);
                var (words, facets) = row.Visible ? (WordsOf(row), _facets.OrdinalsOf(row)) : (Empty, []);
                for (var f = 0; f < FieldCount; f++) Change(_fields[f], slot, wordsBefore[f], words[f]);
                Change(_allWords, slot, AllOf(wordsBefore), AllOf(words));
                Change(_facetPackages, slot, Texts(facetsBefore), Texts(facets));
                if (wasVisible != row.Visible) _names.Set(row.Name, slot, row.Visible);
                columns.Packages[slot] = row;
                columns.Facets[slot] = facets;
                columns.Updated[slot] = row.UpdatedAt.UtcTicks;
                columns.Visible[slot] = row.Visible;
                Volatile.Write(ref _visible, _visible + (row.Visible ? 1 : 0) - (wasVisible ? 1 : 0));
                changed = true;
            }
            if (!changed) return;
            foreach (var vocabulary in _fields) vocabulary.Commit();
            _allWords.Commit();
            _names.Commit();
            _facetPackages.Commit();
            Interlocked.Increment(ref _textVersion);
        }
    }

    private static readonly string[][] Empty = [[], [], [], []];

    private static double PopularityOf(long downloads) => 1 + Math.Log(1 + downloads) / 4;

    private static string[] Texts(int[] ordinals) => [.. ordinals.Select(FacetKey)];

    private static string FacetKey(int ordinal) => ordinal.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static void Change(Vocabulary vocabulary, int slot, string[] before, string[] after)
    {
        foreach (var word in before)
            if (Array.IndexOf(after, word) < 0) vocabulary.Set(word, slot, false);
        foreach (var word in after)
            if (Array.IndexOf(before, word) < 0) vocabulary.Set(word, slot, true);
    }

    /// <summary>The package's distinct words per field (writer only: reuses one set).</summary>
    private string[][] WordsOf(IndexedPackage p) =>
    [
        DistinctWords(p.Name),
        DistinctWords(p.Keywords),
        DistinctWords(p.Description ?? ""),
        DistinctWords(p.Authors),
    ];

    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    private string[] DistinctWords(params ReadOnlySpan<string> texts)
    {
        _seen.Clear();
        foreach (var text in texts)
            foreach (var word in SearchQuery.WordsOf(text, int.MaxValue)) _seen.Add(word);
        return _seen.Count == 0 ? [] : [.. _seen];
    }

    private string[] AllOf(string[][] words)
    {
        if (ReferenceEquals(words, Empty)) return [];
        _seen.Clear();
        foreach (var field in words)
            foreach (var word in field) _seen.Add(word);
        return [.. _seen];
    }

    private static bool SameText(IndexedPackage a, IndexedPackage b) =>
        a.Version == b.Version && a.Description == b.Description && a.License == b.License && a.UpdatedAt == b.UpdatedAt &&
        a.Visible == b.Visible && a.Keywords.SequenceEqual(b.Keywords) && a.Categories.SequenceEqual(b.Categories)
        && a.Authors.SequenceEqual(b.Authors);

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
        var columns = Volatile.Read(ref _columns);
        var count = Math.Min(Count, columns.Length);
        var filter = Filter.Of(query, _facets);
        var name = string.Join('-', query.Words);
        var collector = new Collection(query, filter, columns, _facets, query.IsEmpty ? -1 : _slots.GetValueOrDefault(name, -1));
        if (filter.Impossible)
            return (collector.Result(), 0);
        if (query.IsEmpty)
        {
            if (filter.IsEmpty)
            {
                collector.UseFacetCounts(EveryFacet(columns, count));
                collector.AddEveryVisible(count);
            }
            else if (filter.Ordinals().MinBy(o => _facetPackages.Exactly(FacetKey(o)).Count) is var ordinal and >= 0)
            {
                // Only the packages of the filter's rarest value can pass it: walk those.
                foreach (var slot in _facetPackages.Exactly(FacetKey(ordinal))) collector.Add(slot, 0);
            }
            else
            {
                for (var slot = 0; slot < count; slot++) collector.Add(slot, 0);
            }
            return (collector.Result(), collector.Matched);
        }
        var scratch = Rent(columns.Length);
        try
        {
            var words = query.Words;
            for (var i = 0; i < words.Count; i++)
            {
                var word = words[i];
                for (var f = 0; f < FieldCount; f++)
                    scratch.Match(_fields[f].Prefixed(word), i, FieldWeights[f]);
                if (typos && Edits(word) is var edits and > 0)
                    scratch.Match(_allWords.WithinEdits(word, edits), i, TypoWeight);
            }
            // The whole name within a typo or two matches on its own (and weighs nothing but its popularity).
            if (typos && Edits(name) is var nameEdits and > 0)
                foreach (var postings in _names.WithinEdits(name, nameEdits))
                    foreach (var slot in postings) scratch.MatchAll(slot, words.Count);
            foreach (var slot in scratch.Matches(words.Count))
                collector.Add(slot, scratch.Score(slot));
        }
        finally
        {
            _scratch.Add(scratch);
        }
        return (collector.Result(), collector.Matched);
    }

    /// <summary>Facet counts over every visible package, cached until a package's text or visibility changes.</summary>
    private int[] EveryFacet(Columns columns, int count)
    {
        var version = Interlocked.Read(ref _textVersion);
        if (Volatile.Read(ref _everyFacet) is { } cached && cached.Version == version) return cached.Counts;
        var counts = new int[_facets.Count];
        for (var slot = 0; slot < count; slot++)
        {
            if (!columns.Visible[slot] || columns.Facets[slot] is not { } facets) continue;
            foreach (var ordinal in facets)
                if (ordinal < counts.Length) counts[ordinal]++;
        }
        Volatile.Write(ref _everyFacet, new FacetCache(version, counts));
        return counts;
    }

    private Scratch Rent(int slots)
    {
        if (!_scratch.TryTake(out var scratch)) scratch = new Scratch();
        scratch.Begin(slots);
        return scratch;
    }

    /// <summary>Typesense's defaults: one typo from 4 characters, two from 7.</summary>
    private static int Edits(string word) => word.Length >= 7 ? 2 : word.Length >= 4 ? 1 : 0;

    /// <summary>The visible packages whose name starts with the prefix: the exact name first, then by downloads.</summary>
    public SuggestResult Suggest(SuggestQuery query)
    {
        var columns = Volatile.Read(ref _columns);
        var exact = _slots.GetValueOrDefault(query.Prefix, -1);
        var best = new PriorityQueue<int, (bool Exact, long Downloads, string Name)>(SuggestOrder.Instance);
        foreach (var postings in _names.Prefixed(query.Prefix))
        {
            foreach (var slot in postings)
            {
                if (slot >= columns.Length || !columns.Visible[slot] || columns.Packages[slot] is not { } p) continue;
                var key = (slot == exact, columns.Downloads[slot], p.Name);
                if (best.Count < SuggestQuery.Size) best.Enqueue(slot, key);
                else if (best.TryPeek(out _, out var worst) && SuggestOrder.Instance.Compare(key, worst) > 0)
                    best.EnqueueDequeue(slot, key);
            }
        }
        var slots = new List<int>(best.Count);
        while (best.Count > 0) slots.Add(best.Dequeue());
        slots.Reverse();
        return new SuggestResult(slots.Select(s => columns.Packages[s]!).Select(p => new Suggestion(p.Name, p.Version, p.Description)).ToList());
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

    /// <summary>
    /// One query's working state by package slot, reused across queries: which query last touched a slot (so nothing
    /// is cleared between queries), how many of the query's words it has matched so far, its summed weights, and
    /// which field of the current word last counted it (a word counts once per field, however many terms of the
    /// field it prefixes).
    /// </summary>
    private sealed class Scratch
    {
        private int[] _touched = [];
        private int[] _words = [];
        private float[] _score = [];
        private int[] _mark = [];
        private readonly List<int> _candidates = [];
        private int _query;
        private int _marks;

        public void Begin(int slots)
        {
            if (_touched.Length < slots)
            {
                _touched = new int[slots];
                _words = new int[slots];
                _score = new float[slots];
                _mark = new int[slots];
                _query = 0;
                _marks = 0;
            }
            _candidates.Clear();
            if (++_query == int.MaxValue || _marks > int.MaxValue - 1_000_000)
            {
                Array.Clear(_touched);
                Array.Clear(_mark);
                _query = 1;
                _marks = 0;
            }
        }

        /// <summary>Counts word <paramref name="word"/> (0-based) of the query for every slot of the postings, once per call.</summary>
        public void Match(IEnumerable<ArraySegment<int>> postingsOfTerms, int word, float weight)
        {
            var mark = ++_marks;
            foreach (var postings in postingsOfTerms)
            {
                foreach (var slot in postings)
                {
                    // A slot added after this query sized its arrays: not in this query's view of the packages.
                    if ((uint)slot >= (uint)_touched.Length) continue;
                    if (_touched[slot] != _query)
                    {
                        // Only the first word brings candidates: a slot the first word missed cannot match them all.
                        if (word != 0) continue;
                        _touched[slot] = _query;
                        _words[slot] = 0;
                        _score[slot] = 0;
                        _candidates.Add(slot);
                    }
                    if (_mark[slot] == mark) continue;
                    _mark[slot] = mark;
                    if (_words[slot] == word) _words[slot] = word + 1;
                    else if (_words[slot] != word + 1) continue;
                    _score[slot] += weight;
                }
            }
        }

        /// <summary>A match whatever its words did (the whole name within edits), weighing nothing.</summary>
        public void MatchAll(int slot, int words)
        {
            if ((uint)slot >= (uint)_touched.Length) return;
            if (_touched[slot] != _query)
            {
                _touched[slot] = _query;
                _candidates.Add(slot);
            }
            else if (_words[slot] == words) return;
            _words[slot] = words;
            _score[slot] = 0;
        }

        public IEnumerable<int> Matches(int words)
        {
            foreach (var slot in _candidates)
                if (_words[slot] == words) yield return slot;
        }

        public float Score(int slot) => _score[slot];
    }

    /// <summary>
    /// The words of one field: terms sorted ordinally (prefix ranges by binary search), each with the slots it occurs
    /// in. The single writer records changes with <see cref="Set"/> and publishes them with <see cref="Commit"/>.
    /// </summary>
    private sealed class Vocabulary
    {
        private readonly Dictionary<string, Term> _terms = new(StringComparer.Ordinal);
        /// <summary>The terms this commit changes (writer only).</summary>
        private readonly List<Term> _changed = [];
        private readonly List<Term> _added = [];
        private View _view = View.Empty;

        /// <summary>
        /// The terms sorted ordinally in two runs: a large one, and a small one of the terms added since it was last
        /// made (merged into the large run once it passes <see cref="RecentLimit"/> terms), so a publish that brings a
        /// new name copies a few hundred references, not the whole vocabulary. Each run keeps its terms' lengths and
        /// letter sets side by side (the typo walk skips on them without reading a term). Published together.
        /// </summary>
        private sealed record View(Run Main, Run Recent)
        {
            public static readonly View Empty = new(Run.Empty, Run.Empty);
        }

        private sealed record Run(Term[] Terms, int[] Lengths, ulong[] Letters)
        {
            public static readonly Run Empty = new([], [], []);

            /// <summary>This run and the sorted <paramref name="added"/> merged into one.</summary>
            public Run With(IReadOnlyList<Term> added)
            {
                var terms = new Term[Terms.Length + added.Count];
                var lengths = new int[terms.Length];
                var letters = new ulong[terms.Length];
                int i = 0, j = 0, k = 0;
                while (i < Terms.Length || j < added.Count)
                {
                    if (j == added.Count || (i < Terms.Length && string.CompareOrdinal(Terms[i].Text, added[j].Text) < 0))
                    {
                        lengths[k] = Lengths[i];
                        letters[k] = Letters[i];
                        terms[k++] = Terms[i++];
                    }
                    else
                    {
                        lengths[k] = added[j].Text.Length;
                        letters[k] = EditDistance.LettersOf(added[j].Text);
                        terms[k++] = added[j++];
                    }
                }
                return new Run(terms, lengths, letters);
            }
        }

        private const int RecentLimit = 512;

        /// <summary>A term's changes in order (for one slot the last wins).</summary>
        private sealed class Changes
        {
            public readonly List<int> Slots = [];
            public readonly List<bool> Present = [];
        }

        private sealed class Term(string text)
        {
            public readonly string Text = text;
            public Postings Postings = Postings.Empty;

            /// <summary>
            /// Writer only: the commit's additions, in <see cref="Staged"/> past the published count (the published
            /// buffer itself while it has room: no reader reads there), up to <see cref="StagedCount"/>.
            /// </summary>
            public int[]? Staged;
            public int StagedCount;

            /// <summary>Writer only: the commit's changes in order once one of them is a removal.</summary>
            public Changes? Pending;
        }

        /// <summary>
        /// A term's slots: the first <see cref="Count"/> of <see cref="Buffer"/>, published together. Additions write
        /// past the count into spare room (no reader reads there) and publish a longer count; a full buffer grows by
        /// half, so a publish adding a package to a word that 50,000 packages have copies nothing, and a load copies
        /// each posting a few times instead of once per chunk. Removals copy into a new buffer.
        /// </summary>
        private sealed class Postings(int[] buffer, int count)
        {
            public static readonly Postings Empty = new([], 0);
            public readonly int[] Buffer = buffer;
            public readonly int Count = count;
            public ArraySegment<int> Slots => new(Buffer, 0, Count);
        }

        public void Set(string word, int slot, bool present)
        {
            if (!_terms.TryGetValue(word, out var term))
            {
                if (!present) return;
                term = new Term(word);
                _terms[word] = term;
                _added.Add(term);
            }
            if (present && term.Pending is null)
            {
                // An addition (a load, a new package): appended past the published count, published by Commit.
                if (term.Staged is null)
                {
                    (term.Staged, term.StagedCount) = (term.Postings.Buffer, term.Postings.Count);
                    _changed.Add(term);
                }
                if (term.StagedCount == term.Staged.Length)
                {
                    var grown = new int[term.Staged.Length + term.Staged.Length / 2 + 4];
                    Array.Copy(term.Staged, grown, term.StagedCount);
                    term.Staged = grown;
                }
                term.Staged[term.StagedCount++] = slot;
                return;
            }
            if (term.Pending is not { } changes)
            {
                term.Pending = changes = new Changes();
                if (term.Staged is null) _changed.Add(term);
                else
                {
                    // A removal after additions in the same commit: all of them go in order through the general path.
                    for (var i = term.Postings.Count; i < term.StagedCount; i++)
                    {
                        changes.Slots.Add(term.Staged[i]);
                        changes.Present.Add(true);
                    }
                    term.Staged = null;
                }
            }
            changes.Slots.Add(slot);
            changes.Present.Add(present);
        }

        /// <summary>Publishes the recorded changes.</summary>
        public void Commit()
        {
            foreach (var term in _changed)
            {
                Postings postings;
                if (term.Pending is { } changes)
                {
                    var current = term.Postings;
                    var last = new Dictionary<int, bool>(changes.Slots.Count);
                    for (var i = 0; i < changes.Slots.Count; i++) last[changes.Slots[i]] = changes.Present[i];
                    var kept = new List<int>(current.Count + changes.Slots.Count);
                    foreach (var slot in current.Slots)
                        if (!last.ContainsKey(slot)) kept.Add(slot);
                    foreach (var (slot, present) in last)
                        if (present) kept.Add(slot);
                    postings = new Postings([.. kept], kept.Count);
                }
                else
                {
                    postings = new Postings(term.Staged!, term.StagedCount);
                }
                (term.Staged, term.StagedCount, term.Pending) = (null, 0, null);
                Volatile.Write(ref term.Postings, postings);
            }
            _changed.Clear();
            if (_added.Count > 0)
            {
                _added.Sort((a, b) => string.CompareOrdinal(a.Text, b.Text));
                var view = _view;
                var recent = view.Recent.With(_added);
                _added.Clear();
                // A first load (or any batch larger than the recent run may hold) goes straight into the main run.
                Volatile.Write(ref _view, recent.Terms.Length > RecentLimit
                    ? new View(view.Main.With(recent.Terms), Run.Empty)
                    : view with { Recent = recent });
            }
        }

        /// <summary>The postings of exactly this term (empty when no package has it).</summary>
        public ArraySegment<int> Exactly(string text)
        {
            var view = Volatile.Read(ref _view);
            foreach (var sorted in new[] { view.Main.Terms, view.Recent.Terms })
            {
                var i = LowerBound(sorted, text);
                if (i < sorted.Length && sorted[i].Text == text) return Volatile.Read(ref sorted[i].Postings).Slots;
            }
            return [];
        }

        public long Bytes()
        {
            long bytes = 0;
            var view = Volatile.Read(ref _view);
            foreach (var term in view.Main.Terms.Concat(view.Recent.Terms))
                bytes += 80 + 2L * term.Text.Length + 4L * Volatile.Read(ref term.Postings).Buffer.Length;
            return bytes;
        }

        /// <summary>The postings of every term starting with <paramref name="prefix"/>.</summary>
        public IEnumerable<ArraySegment<int>> Prefixed(string prefix)
        {
            var view = Volatile.Read(ref _view);
            foreach (var sorted in new[] { view.Main.Terms, view.Recent.Terms })
                for (var i = LowerBound(sorted, prefix); i < sorted.Length && sorted[i].Text.StartsWith(prefix, StringComparison.Ordinal); i++)
                    yield return Volatile.Read(ref sorted[i].Postings).Slots;
        }

        /// <summary>
        /// The postings of every term within <paramref name="edits"/> insertions, deletions, substitutions or swaps
        /// of neighbours of <paramref name="word"/> whose first letter is the word's (typos in the first letter are
        /// the rare ones, and the first letter narrows the walk to one range of the vocabulary).
        /// </summary>
        public IEnumerable<ArraySegment<int>> WithinEdits(string word, int edits)
        {
            var view = Volatile.Read(ref _view);
            var next = ((char)(word[0] + 1)).ToString();
            var wordLetters = EditDistance.LettersOf(word);
            foreach (var (sorted, lengths, letters) in new[] { view.Main, view.Recent })
            {
                var end = LowerBound(sorted, next);
                for (var i = LowerBound(sorted, word[..1]); i < end; i++)
                {
                    var length = lengths[i];
                    // A term must keep more letters than it has edits (Lucene's fuzzy rule: "a" is not a typo of "xyz").
                    if (Math.Abs(length - word.Length) > edits || length <= edits) continue;
                    if (!EditDistance.LettersWithin(wordLetters, letters[i], edits)) continue;
                    if (EditDistance.AtMost(word, sorted[i].Text, edits)) yield return Volatile.Read(ref sorted[i].Postings).Slots;
                }
            }
        }

        private static int LowerBound(Term[] sorted, string text)
        {
            int lo = 0, hi = sorted.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (string.CompareOrdinal(sorted[mid].Text, text) < 0) lo = mid + 1;
                else hi = mid;
            }
            return lo;
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

        public bool IsEmpty => Category < 0 && Keyword < 0 && Author < 0 && License < 0 && MinDownloads <= 0;

        /// <summary>The facet values the filter requires (none: -1 only, so <c>MinBy</c> of them is -1).</summary>
        public IEnumerable<int> Ordinals()
        {
            var any = false;
            foreach (var o in new[] { Category, Keyword, Author, License })
            {
                if (o < 0) continue;
                any = true;
                yield return o;
            }
            if (!any) yield return -1;
        }

        public bool Admits(int[] ordinals, long downloads) =>
            downloads >= MinDownloads && Has(ordinals, Category) && Has(ordinals, Keyword) && Has(ordinals, Author) && Has(ordinals, License);

        private static bool Has(int[] ordinals, int wanted) => wanted < 0 || Array.IndexOf(ordinals, wanted) >= 0;
    }

    /// <summary>One search's pass: filter, count, facet and keep the best page of the matches.</summary>
    private sealed class Collection(SearchQuery query, Filter filter, Columns columns, FacetValues facets, int exact)
    {
        private readonly int _keep = query.Offset + query.Limit;
        private readonly string _name = string.Join('-', query.Words);
        private int[] _counts = new int[facets.Count];
        private bool _countsGiven;
        private readonly bool _filtered = !filter.IsEmpty;
        private readonly PriorityQueue<int, Rank> _best = new(RankOrder.For(query.Sort));
        private readonly int _words = Math.Max(1, query.Words.Count);
        public long Total { get; private set; }
        /// <summary>Visible packages the text matched, before the filters.</summary>
        public long Matched { get; private set; }

        /// <summary>Sorting key; for the heap the worst ranks first.</summary>
        public readonly record struct Rank(double Score, long Downloads, long Updated, string Name);

        /// <summary>Facet counts already made for exactly this result (every visible package, no filter): not counted again.</summary>
        public void UseFacetCounts(int[] counts)
        {
            _counts = counts;
            _countsGiven = true;
        }

        public void Add(int slot, float weights)
        {
            if ((uint)slot >= (uint)columns.Length || !columns.Visible[slot]) return;
            var d = columns.Downloads[slot];
            Matched++;
            var ordinals = columns.Facets[slot] ?? [];
            if (_filtered && !filter.Admits(ordinals, d)) return;
            Total++;
            if (!_countsGiven)
            {
                var counts = _counts;
                foreach (var ordinal in ordinals)
                    if ((uint)ordinal < (uint)counts.Length) counts[ordinal]++;
            }
            if (_best.Count == _keep)
            {
                _best.TryPeek(out _, out var worst);
                if (!MayBeat(worst, slot, weights, d)) return;
                var rank = RankOf(slot, weights, d);
                if (_best.Comparer.Compare(rank, worst) > 0) _best.EnqueueDequeue(slot, rank);
            }
            else
            {
                _best.Enqueue(slot, RankOf(slot, weights, d));
            }
        }

        /// <summary>
        /// Every visible package, no text, no filter: the facet counts are given, so this only keeps the best page —
        /// a walk over the flags and the sort's own column that touches a package only when it can enter the page.
        /// </summary>
        public void AddEveryVisible(int count)
        {
            var visible = columns.Visible;
            var key = query.Sort == SearchSort.Recent ? columns.Updated : columns.Downloads;
            count = Math.Min(count, visible.Length);
            var threshold = SampledThreshold(visible, key, count);
            for (var slot = 0; slot < count; slot++)
            {
                if (!visible[slot]) continue;
                Matched++;
                Total++;
                // Ties on the sort's column may still win on the name: only a smaller value is skipped outright.
                if (key[slot] < threshold) continue;
                var d = columns.Downloads[slot];
                if (_best.Count < _keep) _best.Enqueue(slot, RankOf(slot, 0, d));
                else
                {
                    var rank = RankOf(slot, 0, d);
                    _best.TryPeek(out _, out var worst);
                    if (_best.Comparer.Compare(rank, worst) > 0) _best.EnqueueDequeue(slot, rank);
                }
                if (_best.Count == _keep && _best.TryPeek(out _, out var head))
                    threshold = query.Sort == SearchSort.Recent ? head.Updated : head.Downloads;
            }
        }

        /// <summary>
        /// A floor under the page's values of the sort's column: the k-th largest value of an even sample of the
        /// packages is at most the k-th largest of all, so a package below it cannot enter the page. Without it a
        /// column that grows with the slot (recency: slots are given in publish order) would pass every package
        /// through the heap.
        /// </summary>
        private long SampledThreshold(bool[] visible, long[] key, int count)
        {
            const int Sample = 2_048;
            if (count < 4 * Sample || _keep > Sample / 4) return long.MinValue;
            var step = count / Sample;
            var sample = new long[Sample];
            var n = 0;
            for (var slot = 0; slot < count && n < Sample; slot += step)
                if (visible[slot]) sample[n++] = key[slot];
            if (n < _keep) return long.MinValue;
            Array.Sort(sample, 0, n);
            return sample[n - _keep];
        }

        private Rank RankOf(int slot, float weights, long d)
        {
            var name = columns.Packages[slot]!.Name;
            return new Rank(Score(name, slot, weights, d), d, columns.Updated[slot], name);
        }

        /// <summary>
        /// Whether a match could enter a full page, from the numbers alone (before its name is read): by downloads or
        /// recency directly, by relevance from the highest score its weights and downloads allow.
        /// </summary>
        private bool MayBeat(Rank worst, int slot, float weights, long d) => query.Sort switch
        {
            SearchSort.Downloads => d >= worst.Downloads,
            SearchSort.Recent => columns.Updated[slot] >= worst.Updated,
            _ => query.IsEmpty ? d >= worst.Downloads : slot == exact || Bound(weights, slot) >= worst.Score,
        };

        /// <summary>The highest score a match that is not the exact name can have (name bonus at most 0.3 + 0.5).</summary>
        private double Bound(float weights, int slot)
        {
            var text = weights / _words;
            return (2 * text / (text + 1) + 0.8) * columns.Popularity[slot] + 1e-9;
        }

        private double Score(string name, int slot, float weights, long d)
        {
            if (query.IsEmpty) return Math.Log(1 + d);
            var popularity = columns.Popularity[slot];
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
            var hits = page.Skip(query.Offset).Select(h => Hit(columns.Packages[h.Slot]!, h.Rank)).ToList();
            return new SearchResult(Total, hits,
                new SearchFacets(Top(FacetValues.Category), Top(FacetValues.Keyword), Top(FacetValues.Author), Top(FacetValues.License)));
        }

        private SearchHit Hit(IndexedPackage p, Rank rank) =>
            new(p.Name, p.Version, p.Description, p.Keywords, p.Categories, rank.Downloads, Math.Round(rank.Score, 6), Highlights(p));

        private List<SearchHighlight> Highlights(IndexedPackage p)
        {
            var highlights = new List<SearchHighlight>();
            if (query.IsEmpty) return highlights;
            if (PostgresSearch.Mark(p.Name, query.Words) is { } name) highlights.Add(new SearchHighlight("name", name));
            if (p.Description is { } description && PostgresSearch.Mark(description, query.Words) is { } d)
                highlights.Add(new SearchHighlight("description", d));
            foreach (var keyword in p.Keywords)
                if (PostgresSearch.Mark(keyword, query.Words) is { } k) highlights.Add(new SearchHighlight("keywords", k));
            foreach (var author in p.Authors)
                if (PostgresSearch.Mark(author, query.Words) is { } a) highlights.Add(new SearchHighlight("authors", a));
            return highlights;
        }

        private List<FacetCount> Top(int kind)
        {
            var top = new List<FacetCount>();
            var counts = _counts;
            for (var ordinal = 0; ordinal < counts.Length; ordinal++)
            {
                if (counts[ordinal] == 0) continue;
                var (k, value) = facets[ordinal];
                if (k == kind) top.Add(new FacetCount(value, counts[ordinal]));
            }
            top.Sort((a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.Value, b.Value));
            return top.Count > SearchQuery.FacetValues ? top[..SearchQuery.FacetValues] : top;
        }
    }

    /// <summary>Worst first: the heap's head is the match to drop when a better one comes.</summary>
    private sealed class RankOrder(SearchSort sort) : IComparer<Collection.Rank>
    {
        private static readonly RankOrder Relevance = new(SearchSort.Relevance), Downloads = new(SearchSort.Downloads),
            Recent = new(SearchSort.Recent);

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
                _ => x.Updated.CompareTo(y.Updated),
            };
            return c != 0 ? c : string.CompareOrdinal(y.Name, x.Name);
        }
    }
}

/// <summary>Bounded Damerau–Levenshtein distance (optimal string alignment: a swap of neighbours is one edit).</summary>
internal static class EditDistance
{
    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> are at most <paramref name="max"/> edits apart; stops as soon as a
    /// row exceeds it.
    /// </summary>
    public static bool AtMost(string a, string b, int max)
    {
        if (Math.Abs(a.Length - b.Length) > max) return false;
        if (a.Length > 64 || b.Length > 64) return Full(a, b) <= max;
        Span<int> before = stackalloc int[b.Length + 1];
        Span<int> previous = stackalloc int[b.Length + 1];
        Span<int> current = stackalloc int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            var best = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var d = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d = Math.Min(d, before[j - 2] + 1);
                current[j] = d;
                if (d < best) best = d;
            }
            if (best > max) return false;
            var t = before;
            before = previous;
            previous = current;
            current = t;
        }
        return previous[b.Length] <= max;
    }

    /// <summary>
    /// The set of letters in <paramref name="text"/> as bits (a character <c>c</c> sets bit <c>c % 64</c>): the typo walk's
    /// first, cheap test. One edit takes at most one letter out of the set and puts at most one in (a swap changes
    /// nothing), so words <c>k</c> edits apart have sets that differ in at most <c>2k</c> bits, whichever letters share a bit.
    /// </summary>
    public static ulong LettersOf(string text)
    {
        ulong bits = 0;
        foreach (var c in text) bits |= 1UL << (c & 63);
        return bits;
    }

    /// <summary>False when two letter sets (<see cref="LettersOf"/>) prove their words more than <paramref name="max"/> edits apart.</summary>
    public static bool LettersWithin(ulong a, ulong b, int max) => System.Numerics.BitOperations.PopCount(a ^ b) <= 2 * max;

    /// <summary>The optimal-string-alignment distance over the whole matrix: what <see cref="AtMost"/> answers within a bound.</summary>
    public static int Full(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
