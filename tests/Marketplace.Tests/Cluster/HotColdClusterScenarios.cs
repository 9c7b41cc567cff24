using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Alba;
using JasperFx.Events;
using Marketplace.Downloads;
using Marketplace.Functions.Events;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Serverless;
using Marketplace.Functions.Transparency;
using Marketplace.Functions.Webhooks;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.Testing;
using Marketplace.Tests.Support;
using Marketplace.Tests.Webhooks;
using Marketplace.Transparency;
using Marketplace.Webhooks;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit.Abstractions;

namespace Marketplace.Tests.Cluster;

/// <summary>
/// Three instances of the app (separate processes, real Kestrel) on one PostgreSQL schema with the daemon in
/// <c>HotCold</c>: publishes, yanks and downloads go to all of them, the leader is killed (SIGKILL) mid-run, and
/// afterwards the log, every read model, the download totals, the webhook outbox and the transparency log are exactly
/// what one instance would have made: nothing applied twice, nothing skipped.
/// </summary>
public sealed class HotColdClusterScenarios(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _schema = "hc_" + Guid.NewGuid().ToString("n")[..12];
    private readonly string _blobs = Path.Combine(Path.GetTempPath(), "mkt-cluster-" + Guid.NewGuid().ToString("n")[..12]);
    private readonly List<ClusterNode> _nodes = [];

    private sealed record Ack(string Kind, string Name, string Version, long Sequence);

    private Dictionary<string, string> Settings(string node) => new()
    {
        ["ConnectionStrings:Marketplace"] = TestEnvironment.Postgres + $";Application Name={_schema}-{node};Maximum Pool Size=30",
        ["Marten:Schema"] = _schema,
        ["Marten:Daemon"] = "HotCold",
        ["Marten:LeadershipPollingTime"] = "00:00:01",
        ["Marten:HealthCheckPollingTime"] = "00:00:01",
        ["Blobs:Store"] = "file",
        ["Blobs:File:Root"] = _blobs,
        ["Blobs:File:UrlKey"] = Convert.ToBase64String(SHA256.HashData("cluster url key"u8)),
        ["Registry:SigningKey"] = Convert.ToBase64String(SHA256.HashData("cluster registry key"u8)),
        ["Reads:CacheFor"] = "00:00:00",
        ["Webhooks:AllowPrivateNetworks"] = "true",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    public async Task InitializeAsync()
    {
        // The first instance creates the schema; the other two start against it at once.
        _nodes.Add(await ClusterNode.StartAsync("n1", Settings("n1"), TimeSpan.FromSeconds(30)));
        _nodes.AddRange(await Task.WhenAll(
            ClusterNode.StartAsync("n2", Settings("n2"), TimeSpan.FromSeconds(30)),
            ClusterNode.StartAsync("n3", Settings("n3"), TimeSpan.FromSeconds(30))));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        await TestDatabase.DropSchemaAsync(_schema);
        if (Directory.Exists(_blobs)) Directory.Delete(_blobs, recursive: true);
    }

    /// <summary>
    /// Who runs what: Marten's HotCold daemon takes one session advisory lock per projection shard and subscription
    /// (ids derived from <c>Marten:DaemonLockId</c>), held on a connection that does nothing else, so its last query
    /// is the lock call (the webhook dispatcher's own lock is taken with a different statement text).
    /// </summary>
    private async Task<Dictionary<long, string>> ShardHoldersAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("""
            select l.objid::bigint, a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and a.application_name like @prefix
              and a.query like 'SELECT pg_catalog.pg_try_advisory_lock%'
            """, connection);
        command.Parameters.AddWithValue("prefix", _schema + "-%");
        var holders = new Dictionary<long, string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) holders.Add(reader.GetInt64(0), reader.GetString(1)[(_schema.Length + 1)..]);
        return holders;
    }

    private async Task<long> LowestProgressAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand($"select coalesce(min(last_seq_id), 0) from {_schema}.mt_event_progression where name like '%:%'", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<long> LastSequenceAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand($"select coalesce(max(seq_id), 0) from {_schema}.mt_events", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private ClusterNode Alive(int i)
    {
        var alive = _nodes.Where(n => !n.Killed).ToList();
        return alive[i % alive.Count];
    }

    [Fact]
    public async Task killing_the_leader_mid_run_loses_nothing_and_applies_nothing_twice()
    {
        var clock = Stopwatch.StartNew();
        await using var db = new NpgsqlConnection(TestEnvironment.Postgres);
        await db.OpenAsync();

        // Seven async shards: package and version documents, download counts, search, dependents, transparency log,
        // webhook outbox.
        const int shards = 7;
        var holders = new Dictionary<long, string>();
        for (var i = 0; i < 100 && (holders = await ShardHoldersAsync(db)).Count < shards; i++) await Task.Delay(100);
        Assert.Equal(shards, holders.Count);
        output.WriteLine($"at start: {string.Join(", ", holders.GroupBy(h => h.Value).Select(g => $"{g.Key} runs {g.Count()}"))} ({clock.ElapsedMilliseconds} ms into the test)");

        // Two webhook subscriptions, created through different instances: the registry (everything but downloads)
        // and one package; receivers are a closed port (deliveries fail and wait for retries: only enqueueing counts).
        var workers = 6;
        var packageNames = Enumerable.Range(0, workers).Select(w => Support.Packages.UniqueName($"hc{w}")).ToArray();
        var owners = Enumerable.Range(0, workers).Select(_ => StatementSigner.Generate()).ToArray();
        var hook = "http://127.0.0.1:9/hook";
        var first = Support.Packages.RandomBlob(1024);
        var (created, _) = await SendAsync(_nodes[2], HttpMethod.Put, $"v1/packages/{packageNames[0]}/0.1.0", Support.Packages.PublishBody(owners[0], Support.Packages.Statement(packageNames[0], "0.1.0", first), first));
        Assert.Equal(HttpStatusCode.Created, created);
        var registryHook = await SubscribeAsync(_nodes[0], StatementSigner.Generate(), WebhookScope.Registry, null, hook);
        var packageHook = await SubscribeAsync(_nodes[1], owners[0], WebhookScope.Package, packageNames[0], hook);

        var acks = new ConcurrentBag<Ack>();
        var downloadsAcked = new ConcurrentDictionary<(string, string), int>();
        var failures = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var owner = owners[w];
            var name = packageNames[w];
            var published = new List<string>();
            var step = w;
            for (var v = 0; !stop.IsCancellationRequested; v++)
            {
                var version = $"1.0.{v}";
                var blob = Support.Packages.RandomBlob(1024);
                var (status, body) = await SendAsync(Alive(step++), HttpMethod.Put, $"v1/packages/{name}/{version}", Support.Packages.PublishBody(owner, Support.Packages.Statement(name, version, blob), blob));
                if (status == HttpStatusCode.Created) { acks.Add(new Ack("published", name, version, body.GetProperty("sequence").GetInt64())); published.Add(version); }
                else if (status != 0) failures.Add($"publish {name}@{version}: {(int)status} {body}");
                else continue; // the instance died under the request: not acknowledged, the client would retry (a new version here)
                for (var d = 0; d < 5 && published.Count > 0; d++)
                {
                    var target = published[Random.Shared.Next(published.Count)];
                    var (ds, _) = await SendAsync(Alive(step++), HttpMethod.Get, $"v1/packages/{name}/{target}/download", null);
                    if (ds == HttpStatusCode.Redirect) downloadsAcked.AddOrUpdate((name, target), 1, (_, n) => n + 1);
                    else if (ds != 0) failures.Add($"download {name}@{target}: {(int)ds}");
                }
                if (v % 4 == 3)
                {
                    var (ys, yb) = await SendAsync(Alive(step++), HttpMethod.Post, $"v1/packages/{name}/{version}/yank", Support.Packages.YankBody(owner, "yank", name, version));
                    if (ys == HttpStatusCode.OK) acks.Add(new Ack("yanked", name, version, yb.GetProperty("sequence").GetInt64()));
                    else if (ys != 0) failures.Add($"yank {name}@{version}: {(int)ys} {yb}");
                }
            }
        })).ToArray();

        int Published() => acks.Count(a => a.Kind == "published");
        await Poll.UntilAsync(async () => Published() >= 15 && (holders = await ShardHoldersAsync(db)).Count == shards,
            "publishes acknowledged by the cluster before the kill, every shard held", TimeSpan.FromSeconds(60));
        var leader = holders.GroupBy(h => h.Value).MaxBy(g => g.Count())!.Key;
        var victim = _nodes.Single(n => n.Name == leader);
        var killedAt = Stopwatch.StartNew();
        victim.Kill();
        // Events committed up to the kill: the survivors have taken over once every shard has gone past them.
        var progressAtKill = await LastSequenceAsync(db);
        output.WriteLine($"killed {victim.Name} at {clock.ElapsedMilliseconds} ms; log at {progressAtKill}, lowest projection progress {await LowestProgressAsync(db)}");

        var held = holders.Keys.ToHashSet();
        var after = new Dictionary<long, string>();
        TimeSpan? leadershipTaken = null, progressResumed = null;
        while (killedAt.Elapsed < TimeSpan.FromSeconds(20) && (leadershipTaken is null || progressResumed is null))
        {
            if (leadershipTaken is null && (after = await ShardHoldersAsync(db)).Count == shards && after.Keys.ToHashSet().SetEquals(held)
                && after.Values.All(n => n != victim.Name))
                leadershipTaken = killedAt.Elapsed;
            if (progressResumed is null && await LowestProgressAsync(db) > progressAtKill) progressResumed = killedAt.Elapsed;
            await Task.Delay(25);
        }
        Assert.True(leadershipTaken is not null, "the survivors did not take every shard within 20 s");
        Assert.True(progressResumed is not null, "the projections did not move within 20 s of the kill");
        output.WriteLine($"takeover: {string.Join(", ", after.GroupBy(h => h.Value).Select(g => $"{g.Key} runs {g.Count()}"))} {leadershipTaken.Value.TotalMilliseconds:F0} ms after the kill; every projection and subscription past the log's end at the kill {progressResumed.Value.TotalMilliseconds:F0} ms after it");

        // The survivors go on acknowledging writes.
        var publishedAtTakeover = Published();
        await Poll.UntilAsync(() => Published() >= publishedAtTakeover + 10, "publishes acknowledged by the survivors", TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.Empty(failures);
        Assert.True(acks.Count(a => a.Kind == "published") > 20, $"only {acks.Count} publishes acknowledged");

        // Caught up: every shard at the end of the log (bounded).
        var last = await LastSequenceAsync(db);
        var caughtUp = Stopwatch.StartNew();
        while (await LowestProgressAsync(db) < last)
        {
            Assert.True(caughtUp.Elapsed < TimeSpan.FromSeconds(30), "the projections did not catch up within 30 s\n" + string.Join('\n', _nodes.Select(n => n.Output)));
            await Task.Delay(100);
        }
        foreach (var node in _nodes.Where(n => !n.Killed)) node.Kill();
        output.WriteLine($"{acks.Count} publishes and yanks, {downloadsAcked.Values.Sum()} downloads acknowledged; log at {last}; {clock.ElapsedMilliseconds} ms in all");

        // The checks, on a host with no daemon (the cluster is gone), then a rebuild from the log.
        await using var host = await AlbaHost.For<Program>(b =>
        {
            b.UseSetting("ConnectionStrings:Marketplace", TestEnvironment.Postgres);
            b.UseSetting("Marten:Schema", _schema);
            b.UseSetting("Marten:Daemon", "Disabled");
            b.UseSetting("Blobs:Store", "file");
            b.UseSetting("Blobs:File:Root", _blobs);
            b.UseSetting("Logging:LogLevel:Default", "Warning");
        });
        var store = host.Services.GetRequiredService<IDocumentStore>();
        List<IEvent> events;
        await using (var session = store.QuerySession())
            events = (await session.Events.QueryAllRawEvents().Where(e => e.StreamKey != "mt_tombstone").OrderBy(e => e.Sequence).ToListAsync()).ToList();

        // Every acknowledged event is in the log, once.
        var bySequence = events.ToDictionary(e => e.Sequence);
        foreach (var ack in acks)
        {
            Assert.True(bySequence.TryGetValue(ack.Sequence, out var e), $"acknowledged {ack} is not in the log");
            switch (e.Data)
            {
                case PackagePublished p: Assert.Equal((ack.Kind, ack.Name, ack.Version), ("published", p.Name, p.Version)); break;
                case VersionYanked y: Assert.Equal((ack.Kind, ack.Name), ("yanked", y.Name)); break;
                default: Assert.Fail($"{ack} is {e.EventTypeName} in the log"); break;
            }
        }
        var publishes = events.Select(e => e.Data).OfType<PackagePublished>().ToList();
        Assert.Equal(publishes.Count, publishes.Select(p => (p.Name, p.Version)).Distinct().Count());

        // Download totals equal the Downloaded events, and every acknowledged download is one of them.
        var downloaded = events.Select(e => e.Data).OfType<Downloaded>().GroupBy(d => (d.Name, d.VersionKey)).ToDictionary(g => g.Key, g => (long)g.Count());
        var counted = (await QueryAsync(store, 
            $"select name || ' ' || version || ' ' || sum(count)::text from {Marketplace.Projections.Downloads.DownloadCountsProjection.TableIn(_schema)} group by name, version")).ToList();
        Assert.Equal(downloaded.Select(d => $"{d.Key.Name} {d.Key.VersionKey} {d.Value}").Order(StringComparer.Ordinal), counted.Order(StringComparer.Ordinal));
        foreach (var ((name, version), n) in downloadsAcked)
            Assert.True(downloaded.GetValueOrDefault((name, version)) >= n, $"{name}@{version}: {n} downloads answered, {downloaded.GetValueOrDefault((name, version))} recorded");

        // Every event was enqueued once per matching subscription: the registry one gets everything after its creation
        // but downloads and its own events; the package one that package's events after its creation.
        var deliveries = (await QueryAsync(store, 
            $"select subscription_id::text || ' ' || event_id::text from {WebhookDeliveryTable.In(_schema)}")).ToList();
        Assert.Equal(deliveries.Count, deliveries.Distinct().Count());
        var expected = new List<string>();
        foreach (var e in events.Where(e => e.Data is not Downloaded && RegistryCloudEvents.IsMapped(e.EventType)))
        {
            if (e.Sequence > registryHook.Sequence && e.StreamKey != registryHook.Stream) expected.Add($"{registryHook.Id:D} {e.Id:D}");
            if (e.Sequence > packageHook.Sequence && e.StreamKey == packageNames[0]) expected.Add($"{packageHook.Id:D} {e.Id:D}");
        }
        Assert.Equal(expected.Order(StringComparer.Ordinal), deliveries.Order(StringComparer.Ordinal));

        // The transparency log has each state-changing event once, in log order, hashing its feed line.
        var leaves = (await QueryAsync(store, 
            $"select index::text || ' ' || sequence::text || ' ' || encode(hash, 'hex') from {TransparencyLogProjection.LeavesIn(_schema)} order by index")).ToList();
        var expectedLeaves = events.Where(e => e.Data is not Downloaded && RegistryCloudEvents.IsMapped(e.EventType))
            .Select((e, i) => $"{i} {e.Sequence} {Convert.ToHexStringLower(MerkleTree.LeafHash(RegistryCloudEvents.Serialize(e)))}").ToList();
        Assert.Equal(expectedLeaves, leaves);

        // Every read model equals a rebuild from the log.
        var incremental = await ReadModelSnapshot.TakeAsync(store, _schema);
        await RebuildCommand.RebuildAsync(store, RebuildCommand.AsyncProjectionNames(store), CancellationToken.None);
        Assert.Equal(incremental, await ReadModelSnapshot.TakeAsync(store, _schema));
        output.WriteLine($"{events.Count} events, {leaves.Count} leaves, {deliveries.Count} deliveries checked; {clock.ElapsedMilliseconds} ms in all");
    }

    private static async Task<IReadOnlyList<string>> QueryAsync(IDocumentStore store, string sql)
    {
        await using var session = store.QuerySession();
        return await session.QueryAsync<string>(sql);
    }

    private sealed record Hook(Guid Id, string Stream, long Sequence);

    private static async Task<Hook> SubscribeAsync(ClusterNode node, StatementSigner signer, string kind, string? package, string url)
    {
        var scope = new WebhookScope(kind, package);
        var (status, body) = await SendAsync(node, HttpMethod.Post, "v1/webhooks", WebhookClient.Body(signer, WebhookClient.Create(scope, url)));
        Assert.True(status == HttpStatusCode.Created, $"{(int)status} {body}");
        var id = Guid.Parse(body.GetProperty("id").GetString()!);
        return new Hook(id, WebhookStreams.KeyOf(id), body.GetProperty("sequence").GetInt64());
    }

    /// <summary>Status 0 when the instance died under the request (connection refused or reset).</summary>
    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(ClusterNode node, HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body, options: Support.Packages.Json);
        try
        {
            using var response = await node.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var json = text.TrimStart().StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default;
            return (response.StatusCode, json);
        }
        catch (HttpRequestException) when (node.Killed)
        {
            return (0, default);
        }
        catch (TaskCanceledException) when (node.Killed)
        {
            return (0, default);
        }
    }
}
