using System.Diagnostics;
using System.Globalization;
using Marketplace.Downloads;
using Marketplace.Functions;
using Marketplace.Functions.Serverless;
using Marketplace.Packages;
using Marketplace.Signing;
using Marten;

// The rebuild benchmark: fills a fresh schema with a log of at least --events events (default 1,000,000) shaped like
// a registry's — per package an owner, 3 versions, a yank now and then, and downloads for the rest — then rebuilds
// every async projection from it with the operator's command code (RebuildCommand.RebuildAsync) and prints events/s,
// per projection and in all, as medians over --repeat rebuilds. PostgreSQL must be up (infra/lib.sh ensure_postgres).
//
//   dotnet run -c Release --project tests/Marketplace.RebuildBench -- --events 1000000 --repeat 3

var events = 1_000_000L;
var repeat = 3;
var connection = Environment.GetEnvironmentVariable("MARKETPLACE_BENCH_DB")
    ?? "Host=127.0.0.1;Port=5432;Database=marketplace_test;Username=marketplace;Password=marketplace;SSL Mode=Disable;Maximum Pool Size=20";
string? keep = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--events": events = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--schema": keep = args[++i]; break;
        default:
            Console.Error.WriteLine("usage: [--events N] [--repeat R] [--schema name (reuse/keep a loaded schema)]");
            return 2;
    }
}

var schema = keep ?? "rebuild_" + DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
var builder = WebApplication.CreateBuilder([]);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["ConnectionStrings:Marketplace"] = connection,
    ["Marten:Schema"] = schema,
    ["Marten:Daemon"] = "Disabled",
    ["Logging:LogLevel:Default"] = "Warning",
    ["Observability:Metrics"] = "none",
    ["Observability:ProjectionLagInterval"] = "00:00:00",
});
builder.Services.AddMarketplace(builder.Configuration);
await using var app = builder.Build();
var store = app.Services.GetRequiredService<IDocumentStore>();
await SchemaCommand.ApplyAsync(store, CancellationToken.None);

var existing = (await store.Advanced.FetchEventStoreStatistics()).EventCount;
if (existing < events)
{
    var clock = Stopwatch.StartNew();
    var appended = await LoadAsync(store, events - existing);
    Console.WriteLine($"loaded {appended:N0} events into {schema} in {clock.Elapsed.TotalSeconds:F1} s ({appended / clock.Elapsed.TotalSeconds:N0} events/s)");
}
var total = (await store.Advanced.FetchEventStoreStatistics()).EventCount;
var names = RebuildCommand.AsyncProjectionNames(store);
Console.WriteLine($"schema {schema}: {total:N0} events; rebuilding {string.Join(", ", names)}; {Environment.ProcessorCount} cores");

var perProjection = names.ToDictionary(n => n, _ => new List<double>());
var overall = new List<double>();
for (var run = 1; run <= repeat; run++)
{
    var clock = Stopwatch.StartNew();
    await RebuildCommand.RebuildAsync(store, names, CancellationToken.None, (name, ms) => perProjection[name].Add(ms));
    overall.Add(clock.Elapsed.TotalMilliseconds);
    Console.WriteLine($"run {run}: all projections in {clock.Elapsed.TotalSeconds:F1} s = {total / clock.Elapsed.TotalSeconds:N0} events/s; " +
        string.Join(", ", names.Select(n => $"{n} {perProjection[n][^1] / 1000:F1} s")));
}
Console.WriteLine($"median over {repeat}: {total / (Median(overall) / 1000):N0} events/s for a full rebuild of {total:N0} events ({Median(overall) / 1000:F1} s); " +
    string.Join(", ", names.Select(n => $"{n} {Median(perProjection[n]) / 1000:F1} s")));
if (keep is null)
{
    await using var session = store.LightweightSession();
    session.QueueSqlCommand($"drop schema {schema} cascade");
    await session.SaveChangesAsync();
}
return 0;

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

// Per package: OwnerAdded, 3 PackagePublished, a yank for one package in 10, and 45 downloads on average (a
// Zipf-like spread): about 95% of the log is downloads, as on a real registry.
static async Task<long> LoadAsync(IDocumentStore store, long wanted)
{
    var key = StatementSigner.Generate().Owner;
    var envelope = new DsseEnvelope(PayloadTypes.Publish, "", []);
    var random = new Random(17);
    long appended = 0;
    var package = 0;
    var epoch = DateTimeOffset.UtcNow.AddDays(-30);
    while (appended < wanted)
    {
        await using var session = store.LightweightSession();
        var inSession = 0;
        while (inSession < 20_000 && appended + inSession < wanted)
        {
            var name = $"bench-{package:D7}";
            var stream = new List<object> { new OwnerAdded(name, key.KeyId, key.PublicKey, key.KeyId, epoch) };
            foreach (var version in new[] { "1.0.0", "1.1.0", "2.0.0" })
                stream.Add(new PackagePublished(name, name, version, new string('a', 64), 1024,
                    new PackageManifest($"Benchmark package {package}", ["bench"], "MIT", Keywords: ["bench", $"k{package % 50}"], Categories: [$"c{package % 12}"]),
                    key.KeyId, key.PublicKey, envelope, epoch));
            if (package % 10 == 0) stream.Add(new VersionYanked(name, "2.0.0", "bench", key.KeyId, epoch));
            session.Events.StartStream(name, stream);
            var downloads = (int)Math.Min(2_000, 10 / Math.Pow(random.NextDouble() + 0.01, 0.9));
            foreach (var chunk in Enumerable.Range(0, downloads).Chunk(512))
                session.Events.StartStream("downloads-" + Guid.CreateVersion7().ToString("n"),
                    chunk.Select(_ => (object)new Downloaded(name, "1.1.0", new string('a', 64), epoch)).ToList());
            inSession += stream.Count + downloads;
            package++;
        }
        await session.SaveChangesAsync();
        appended += inSession;
    }
    return appended;
}
