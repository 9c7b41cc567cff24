using Alba;
using Marketplace.Downloads;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.Testing;
using Marketplace.Tests.Support;
using Marten;
using Marten.Events;

namespace Marketplace.Tests.Search;

/// <summary>
/// A registry holding the generated corpus (<see cref="SearchCorpus"/>, 3,000 packages): its events are appended
/// straight to the store — publishes, yanks, and one <see cref="Downloaded"/> event per download — and the daemon
/// builds the search documents from them as it would from live traffic. <see cref="Corpus"/> is the oracle the
/// tests count against. Two instances serve it: <see cref="MarketplaceFixture.Host"/> with the PostgreSQL adapter
/// and the daemon, and <see cref="EmbeddedHost"/> with its own embedded index and no daemon (it follows the search
/// documents the other one's daemon writes, as any instance of a multi-node deployment does).
/// </summary>
public sealed class SearchFixture() : MarketplaceFixture(HostProfile.Default)
{
    public const int Size = 3_000;
    private const long MaxDownloads = 2_000;

    /// <summary>A package whose description and keyword carry markup: a highlight of it must come back escaped.</summary>
    public static readonly CorpusPackage Markup = new("markup-widget",
        [new CorpusVersion("1.0.0", new PackageManifest("<script>alert('xss')</script> & <b>markup</b> widget, 1 < 2 > 0", ["<img src=x onerror=alert(1)>"],
            "MIT", Keywords: ["markup"], Categories: ["web"]), false)], 3);

    public IReadOnlyList<CorpusPackage> Corpus { get; } = [.. Scaled(SearchCorpus.Generate(Size, seed: 7, maxDownloads: MaxDownloads)), Markup];

    /// <summary>An instance searching its embedded index.</summary>
    public IAlbaHost EmbeddedHost { get; private set; } = null!;

    public static IReadOnlyDictionary<string, string?> Embedded { get; } = new Dictionary<string, string?>
    {
        ["Search:Adapter"] = "Embedded",
        ["Marten:Daemon"] = "Disabled",
        ["Marten:ApplySchemaOnStartup"] = "false",
    };

    /// <summary>When each package's versions were published: the newest version of package i at Epoch + i minutes.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public IEnumerable<CorpusPackage> Visible => Corpus.Where(p => p.Shown is not null);

    public DateTimeOffset UpdatedAt(CorpusPackage p) => Epoch.AddMinutes(IndexOf(p));

    private int IndexOf(CorpusPackage p) => _index[p.Name];
    private readonly Dictionary<string, int> _index = [];

    // Landmark downloads are given for a 20,000-download head; keep them in proportion to this corpus.
    private static List<CorpusPackage> Scaled(IReadOnlyList<CorpusPackage> corpus) =>
        corpus.Select(p => SearchCorpus.Landmarks.Any(l => l.Name == p.Name) ? p with { Downloads = p.Downloads * MaxDownloads / 20_000 } : p).ToList();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        for (var i = 0; i < Corpus.Count; i++) _index[Corpus[i].Name] = i;
        await AppendAsync(Store, Corpus, Epoch);
        await Host.WaitForNonStaleProjectionDataAsync(TimeSpan.FromMinutes(3));
        EmbeddedHost = await StartInstanceAsync(Embedded);
        await WaitUntilReadyAsync(EmbeddedHost);
    }

    /// <summary>Until <c>/health/ready</c> answers 200 (the embedded index is loaded); at most a minute.</summary>
    public static async Task WaitUntilReadyAsync(IAlbaHost host)
    {
        for (var i = 0; i < 600; i++)
        {
            var (status, _, _) = await host.Send(s => s.Get.Url("/health/ready"));
            if (status == 200) return;
            await Task.Delay(100);
        }
        throw new TimeoutException("The instance did not become ready in a minute.");
    }

    public override async Task DisposeAsync()
    {
        if (EmbeddedHost is not null) await EmbeddedHost.DisposeAsync();
        await base.DisposeAsync();
    }

    /// <summary>Appends the corpus as events: package streams in batches, downloads in streams of up to 512 events.</summary>
    public static async Task AppendAsync(IDocumentStore store, IReadOnlyList<CorpusPackage> corpus, DateTimeOffset epoch)
    {
        var key = StatementSigner.Generate().Owner;
        var envelope = new DsseEnvelope(PayloadTypes.Publish, "", []);
        foreach (var chunk in corpus.Select((p, i) => (p, i)).Chunk(250))
        {
            await using var session = store.LightweightSession();
            foreach (var (p, i) in chunk)
            {
                var events = new List<object> { new OwnerAdded(p.Name, key.KeyId, key.PublicKey, key.KeyId, epoch) };
                for (var v = 0; v < p.Versions.Count; v++)
                {
                    var at = epoch.AddMinutes(i).AddSeconds(v - p.Versions.Count + 1);
                    var version = p.Versions[v];
                    events.Add(new PackagePublished(p.Name, p.Name, version.Version, new string('0', 64), 1, version.Manifest,
                        key.KeyId, key.PublicKey, envelope, at));
                }
                foreach (var yanked in p.Versions.Where(v => v.Yanked))
                    events.Add(new VersionYanked(p.Name, yanked.Version, "test", key.KeyId, epoch.AddMinutes(i)));
                session.Events.StartStream(p.Name, events);
            }
            await session.SaveChangesAsync();
        }
        var downloads = corpus.Where(p => p.Downloads > 0 && p.Shown is not null)
            .SelectMany(p => Enumerable.Repeat(p, (int)p.Downloads))
            .Select(p => new Downloaded(p.Name, p.Shown!.Version, new string('0', 64), epoch));
        foreach (var chunk in downloads.Chunk(8 * 512))
        {
            await using var session = store.LightweightSession();
            foreach (var stream in chunk.Chunk(512))
                session.Events.StartStream("downloads-" + Guid.CreateVersion7().ToString("n"), stream);
            await session.SaveChangesAsync();
        }
    }
}

[CollectionDefinition("search")]
public sealed class SearchCollection : ICollectionFixture<SearchFixture>;
