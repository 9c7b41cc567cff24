using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Marketplace.Downloads;
using Marketplace.Functions;
using Marketplace.Signing;
using Marketplace.Webhooks;
using Marketplace.WebhookBench;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

// The webhook benchmark: the marketplace in-process on Kestrel (loopback), a fast receiver on loopback (private
// networks allowed), events appended straight to the store, deliveries timed from commit to receipt.
var options = BenchOptions.Parse(args);
const string Database = "marketplace_bench";
var admin = "Host=127.0.0.1;Port=5432;Database=postgres;Username=marketplace;Password=marketplace;SSL Mode=Disable";
var connection = $"Host=127.0.0.1;Port=5432;Database={Database};Username=marketplace;Password=marketplace;SSL Mode=Disable;Maximum Pool Size=64";
await EnsureDatabaseAsync(admin, Database);
var schema = "webhook_bench_" + Guid.NewGuid().ToString("n")[..8];

await using var receiver = await Receiver.StartAsync();
// Registry-wide download events need a key the operator allowed.
using var operatorKey = StatementSigner.Generate();
var builder = WebApplication.CreateBuilder([]);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["ConnectionStrings:Marketplace"] = connection,
    ["Marten:Schema"] = schema,
    ["Marten:Daemon"] = "Solo",
    ["Blobs:Store"] = "file",
    ["Blobs:File:Root"] = Path.Combine(Path.GetTempPath(), schema),
    ["Webhooks:AllowPrivateNetworks"] = "true",
    ["Webhooks:Concurrency"] = options.Concurrency.ToString(CultureInfo.InvariantCulture),
    ["Webhooks:DownloadEventKeys"] = operatorKey.Owner.KeyId,
    ["Observability:Metrics"] = "none",
    ["Logging:LogLevel:Default"] = "Warning",
    // The app wakes its daemon by LISTEN/NOTIFY (Marten:ListenNotify, on by default); --poll measures polling alone.
    ["Marten:ListenNotify"] = options.Poll ? "false" : "true",
});
builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
builder.Services.AddMarketplace(builder.Configuration);
var app = builder.Build();
app.MapMarketplace();
await app.StartAsync();
var baseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
var store = app.Services.GetRequiredService<IDocumentStore>();

Console.WriteLine($"webhook benchmark: {Environment.ProcessorCount} cores, schema {schema}, receiver {receiver.Url}, " +
    $"dispatcher concurrency {options.Concurrency}, daemon wake-up {(options.Poll ? "polling only (--poll)" : "LISTEN/NOTIFY (the app's default)")}");

var throughputs = new List<double>();
var burstLatencies = new List<double>();
for (var run = 1; run <= options.Repeats; run++)
{
    var signer = operatorKey;
    var subscription = await SubscribeAsync(http, signer, receiver.Url + "?run=" + run);
    var ids = new List<string>(options.Events);
    var committed = new Dictionary<string, DateTimeOffset>(options.Events);
    var clock = Stopwatch.StartNew();
    var start = DateTimeOffset.UtcNow;
    const int batch = 500;
    for (var done = 0; done < options.Events; done += batch)
    {
        await using var session = store.LightweightSession();
        var events = Enumerable.Range(done, Math.Min(batch, options.Events - done))
            .Select(i => (object)new Downloaded($"bench-{run}-{i % options.Packages}", "1.0.0", new string('0', 64), DateTimeOffset.UtcNow)).ToArray();
        var stream = session.Events.StartStream("downloads-" + Guid.CreateVersion7().ToString("D"), events);
        await session.SaveChangesAsync();
        var at = DateTimeOffset.UtcNow;
        foreach (var e in stream.Events)
        {
            ids.Add(e.Id.ToString("D"));
            committed[e.Id.ToString("D")] = at;
        }
    }
    var last = await receiver.WaitForAsync(ids, TimeSpan.FromMinutes(5));
    var seconds = (last - start).TotalSeconds;
    throughputs.Add(options.Events / seconds);
    burstLatencies.AddRange(ids.Select(id => (receiver.FirstSeen[id] - committed[id]).TotalMilliseconds));
    Console.WriteLine($"  run {run}: {options.Events} deliveries over {options.Packages} packages in {seconds:0.00} s = {options.Events / seconds:0} deliveries/s");
    await RemoveAsync(http, signer, subscription);
}

// Latency at a low rate: one event per transaction, each to its own package.
var latencies = new List<double>();
{
    var signer = operatorKey;
    await SubscribeAsync(http, signer, receiver.Url + "?run=latency");
    var interval = TimeSpan.FromSeconds(1 / options.LatencyRate);
    var pending = new Dictionary<string, DateTimeOffset>();
    for (var i = 0; i < options.LatencyEvents; i++)
    {
        var tick = Stopwatch.StartNew();
        await using (var session = store.LightweightSession())
        {
            var stream = session.Events.StartStream("downloads-" + Guid.CreateVersion7().ToString("D"),
                new Downloaded($"latency-{i}", "1.0.0", new string('0', 64), DateTimeOffset.UtcNow));
            await session.SaveChangesAsync();
            pending[stream.Events[0].Id.ToString("D")] = DateTimeOffset.UtcNow;
        }
        var rest = interval - tick.Elapsed;
        if (rest > TimeSpan.Zero) await Task.Delay(rest);
    }
    await receiver.WaitForAsync(pending.Keys, TimeSpan.FromMinutes(2));
    latencies.AddRange(pending.Select(p => (receiver.FirstSeen[p.Key] - p.Value).TotalMilliseconds));
}

throughputs.Sort();
Console.WriteLine();
Console.WriteLine($"deliveries/s (median of {options.Repeats} runs of {options.Events}): {throughputs[throughputs.Count / 2]:0}   [runs: {string.Join(", ", throughputs.Select(t => t.ToString("0", CultureInfo.InvariantCulture)))}]");
Console.WriteLine($"latency commit -> receipt, {options.LatencyEvents} events at {options.LatencyRate}/s: p50 {Percentile(latencies, 50):0} ms, p99 {Percentile(latencies, 99):0} ms, max {latencies.Max():0} ms");
Console.WriteLine($"latency commit -> receipt during the bursts: p50 {Percentile(burstLatencies, 50):0} ms, p99 {Percentile(burstLatencies, 99):0} ms");
Console.WriteLine($"receiver requests: {receiver.Requests} for {receiver.FirstSeen.Count} distinct webhook-ids");

await app.StopAsync();
await app.DisposeAsync();
if (!options.Keep)
{
    await using var cleanup = new NpgsqlConnection(connection);
    await cleanup.OpenAsync();
    await using var drop = new NpgsqlCommand($"drop schema if exists {schema} cascade", cleanup);
    await drop.ExecuteNonQueryAsync();
}
return 0;

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
}

static async Task RemoveAsync(HttpClient http, StatementSigner signer, string id)
{
    var statement = new WebhookStatement(WebhookStatement.Remove, DateTimeOffset.UtcNow, id);
    using var response = await http.PostAsJsonAsync("/v1/webhooks", new { envelope = signer.Sign(PayloadTypes.Webhook, statement), publicKey = signer.Owner.PublicKey });
    response.EnsureSuccessStatusCode();
}

static async Task<string> SubscribeAsync(HttpClient http, StatementSigner signer, string url)
{
    var statement = new WebhookStatement(WebhookStatement.Create, DateTimeOffset.UtcNow, Scope: new WebhookScope(WebhookScope.Registry), Url: url,
        EventTypes: ["dev.marketplace.package.downloaded"]);
    using var response = await http.PostAsJsonAsync("/v1/webhooks", new { envelope = signer.Sign(PayloadTypes.Webhook, statement), publicKey = signer.Owner.PublicKey });
    if (!response.IsSuccessStatusCode)
        throw new InvalidOperationException($"subscribe: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    return body.RootElement.GetProperty("id").GetString()!;
}

static async Task EnsureDatabaseAsync(string admin, string name)
{
    await using var connection = new NpgsqlConnection(admin);
    await connection.OpenAsync();
    await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = @name", connection);
    exists.Parameters.AddWithValue("name", name);
    if (await exists.ExecuteScalarAsync() is not null) return;
    try
    {
        await using var create = new NpgsqlCommand($"create database \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
    }
    catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
    {
    }
}
