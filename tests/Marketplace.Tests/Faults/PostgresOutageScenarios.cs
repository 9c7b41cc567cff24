using System.Collections.Concurrent;
using System.Diagnostics;
using Marketplace.Signing;
using Marketplace.Testing;
using Marketplace.Tests.Support;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Faults;

/// <summary>
/// PostgreSQL stopped and started again under load: every answer during the outage is 503 problem+json with
/// Retry-After (never a 500), readiness says false, nothing acknowledged is lost, and the host recovers unaided.
/// </summary>
[Collection("faults")]
public sealed class PostgresOutageScenarios(FaultFixture fixture)
{
    private sealed record Answer(string Route, int Status, string? ContentType, bool RetryAfter, string Body, bool DuringOutage);

    [Theory]
    [InlineData("fast")]
    [InlineData("immediate")]
    public async Task a_database_outage_under_load_answers_503_loses_nothing_acknowledged_and_recovers_unaided(string mode)
    {
        var host = fixture.Host;
        var existing = await host.PublishedPackage();
        var answers = new ConcurrentBag<Answer>();
        var acknowledged = new ConcurrentBag<string>();
        var downloads = 0;
        var outage = false;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var downloadsBefore = await fixture.DownloadedCountAsync(fixture.Schema);

        async Task Call(string route, Action<Alba.Scenario> configure, Action<int>? onStatus = null)
        {
            var during = Volatile.Read(ref outage);
            var result = await host.Scenario(s => { configure(s); s.IgnoreStatusCode(); });
            var status = result.Context.Response.StatusCode;
            answers.Add(new Answer(route, status, result.Context.Response.ContentType, result.Context.Response.Headers.RetryAfter.Count > 0,
                status >= 500 ? await result.ReadAsTextAsync() : "", during));
            onStatus?.Invoke(status);
        }

        async Task Worker(int id)
        {
            for (var i = 0; i < 10_000 && !stop.IsCancellationRequested; i++)
            {
                var name = UniqueName($"load{id}");
                var blob = RandomBlob(256);
                var signer = StatementSigner.Generate();
                await Call("publish", s => s.Put.Json(PublishBody(signer, Statement(name, "1.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/1.0.0"),
                    status => { if (status == 201) acknowledged.Add(name); });
                await Call("read", s => s.Get.Url($"/v1/packages/{existing.Name}/1.0.0"));
                await Call("download", s => s.Get.Url($"/v1/packages/{existing.Name}/1.0.0/download"),
                    status => { if (status == 302) Interlocked.Increment(ref downloads); });
                await Call("search", s => s.Get.Url("/v1/search?q=load"));
                await Call("ready", s => s.Get.Url("/health/ready"));
            }
        }

        var workers = Enumerable.Range(0, 4).Select(Worker).ToList();
        await Poll.UntilAsync(() => acknowledged.Count >= 4, "publishes acknowledged under load before the outage", TimeSpan.FromSeconds(30));
        Volatile.Write(ref outage, true);
        await fixture.Postgres.StopAsync(mode);
        // The outage itself: three seconds of load against a stopped database.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await fixture.Postgres.StartAsync();
        var restarted = Stopwatch.StartNew();
        Volatile.Write(ref outage, false);

        // Recovery, unaided: a publish succeeds again on the same host (bounded).
        var recovered = TimeSpan.Zero;
        while (restarted.Elapsed < TimeSpan.FromSeconds(60))
        {
            var name = UniqueName("after");
            var blob = RandomBlob(256);
            var (status, _, _) = await host.Send(s => s.Put.Json(PublishBody(StatementSigner.Generate(), Statement(name, "1.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/1.0.0"));
            if (status == 201) { acknowledged.Add(name); recovered = restarted.Elapsed; break; }
            await Task.Delay(200);
        }
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        Assert.True(recovered > TimeSpan.Zero, "no publish succeeded within 60 s of the restart");
        var failures = answers.Where(a => a.Status >= 500).ToList();
        Assert.True(failures.Count > 0, "the outage produced no 503 at all: the load missed it");
        var wrong = failures.Where(a => a.Status != 503 || !(a.ContentType ?? "").StartsWith("application/problem+json", StringComparison.Ordinal)
            || !a.RetryAfter || !a.Body.Contains("\"code\":\"unavailable\"", StringComparison.Ordinal)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {failures.Count} failures were not 503 unavailable with Retry-After: " +
            string.Join(" | ", wrong.Take(3).Select(w => $"{w.Route} {w.Status} {w.Body}")));
        Assert.Contains(answers, a => a.Route == "ready" && a.Status == 503);
        foreach (var route in new[] { "publish", "read", "download" })
            Assert.Contains(answers, a => a.Route == route && a.Status == 503);
        // Search is answered by the embedded index (the default) from memory, so it may go on answering through the outage.
        Assert.Contains(answers, a => a.Route == "search" && a.DuringOutage && a.Status is 200 or 503);

        var names = acknowledged.ToList();
        var committed = await fixture.PublishedStreamsAsync(fixture.Schema, names);
        Assert.True(names.All(committed.Contains), $"{names.Count(n => !committed.Contains(n))} of {names.Count} acknowledged publishes are missing");
        Assert.True(await fixture.DownloadedCountAsync(fixture.Schema) - downloadsBefore >= downloads, "an acknowledged download was not recorded");
        var ready = await host.Send(s => s.Get.Url("/health/ready"));
        Assert.Equal(200, ready.Status);
        Console.WriteLine($"outage ({mode}): {answers.Count} answers, {failures.Count} x 503, {names.Count} publishes acknowledged, recovered {recovered.TotalMilliseconds:F0} ms after restart");
    }
}
