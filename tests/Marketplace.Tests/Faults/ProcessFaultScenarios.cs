using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Marketplace.Signing;
using Marketplace.Testing;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Faults;

/// <summary>The app as a real process on real Kestrel: killed with SIGKILL under load, and fed bytes no HTTP client sends.</summary>
[Collection("faults")]
public sealed class ProcessFaultScenarios(FaultFixture fixture) : IAsyncLifetime
{
    private readonly string _schema = fixture.AppSchema;
    private HttpClient Http => fixture.Http;
    private AppProcess _app = null!;

    public async Task InitializeAsync() => _app = await fixture.AppAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<(string Name, HttpStatusCode Status)> PublishAsync(string name)
    {
        var blob = RandomBlob(512);
        using var response = await Http.PutAsJsonAsync(new Uri(_app.BaseAddress, $"/v1/packages/{name}/1.0.0"),
            PublishBody(StatementSigner.Generate(), Statement(name, "1.0.0", blob), blob), Json);
        return (name, response.StatusCode);
    }

    [Fact]
    public async Task a_process_killed_with_sigkill_under_load_loses_no_acknowledged_publish_or_download()
    {
        var first = await PublishAsync(UniqueName("first"));
        Assert.Equal(HttpStatusCode.Created, first.Status);
        var acknowledged = new ConcurrentBag<string>();
        var downloads = 0;
        using var stop = new CancellationTokenSource();
        async Task Worker()
        {
            for (var i = 0; i < 10_000 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var (name, status) = await PublishAsync(UniqueName("kill"));
                    if (status == HttpStatusCode.Created) acknowledged.Add(name);
                    using var download = await Http.GetAsync(new Uri(_app.BaseAddress, $"/v1/packages/{first.Name}/1.0.0/download"));
                    if (download.StatusCode == HttpStatusCode.Found) Interlocked.Increment(ref downloads);
                }
                catch (HttpRequestException)
                {
                    // The process died mid-request: not acknowledged.
                }
                catch (TaskCanceledException)
                {
                }
            }
        }
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(Worker)).ToList();
        await Poll.UntilAsync(() => acknowledged.Count >= 4 && Volatile.Read(ref downloads) >= 4,
            "publishes and downloads acknowledged under load before the kill", TimeSpan.FromSeconds(30));
        await _app.KillAsync();
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var restart = Stopwatch.StartNew();
        await _app.StartAsync(Http);
        var after = await PublishAsync(UniqueName("after"));
        Assert.Equal(HttpStatusCode.Created, after.Status);

        var names = acknowledged.ToList();
        Assert.True(names.Count > 0, "no publish was acknowledged before the kill");
        var committed = await fixture.PublishedStreamsAsync(_schema, names);
        Assert.True(names.All(committed.Contains), $"{names.Count(n => !committed.Contains(n))} of {names.Count} acknowledged publishes are missing");
        Assert.True(await fixture.DownloadedCountAsync(_schema) >= downloads, "an acknowledged download was not recorded");
        foreach (var name in names)
        {
            using var download = await Http.GetAsync(new Uri(_app.BaseAddress, $"/v1/packages/{name}/1.0.0/download"));
            Assert.Equal(HttpStatusCode.Found, download.StatusCode);
            using var blob = await Http.GetAsync(new Uri(_app.BaseAddress, download.Headers.Location!));
            Assert.Equal(HttpStatusCode.OK, blob.StatusCode);
        }
        Console.WriteLine($"kill -9: {names.Count} publishes and {downloads} downloads acknowledged, all present; ready again {restart.ElapsedMilliseconds} ms after restart");
    }

    /// <summary>Sends raw bytes and reads the answer's status line, content type and body.</summary>
    private async Task<(int Status, string Head, string Body)> RawAsync(byte[] request, TimeSpan? pauseAfter = null, bool halfClose = false, byte[]? rest = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _app.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(request);
        if (pauseAfter is { } pause)
        {
            // Trickle: one byte a second, slower than Kestrel's minimum data rate, until it gives up.
            var clock = Stopwatch.StartNew();
            try
            {
                while (clock.Elapsed < pause && client.Available == 0)
                {
                    await stream.WriteAsync("a"u8.ToArray());
                    await Task.Delay(1000);
                }
            }
            catch (IOException)
            {
            }
        }
        if (rest is not null) await stream.WriteAsync(rest);
        if (halfClose) client.Client.Shutdown(SocketShutdown.Send);
        using var reader = new MemoryStream();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                reader.Write(buffer, 0, read);
                var text = Encoding.UTF8.GetString(reader.ToArray());
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0 && HeaderLength(text[..end]) is { } length && text.Length - end - 4 >= length) break;
            }
        }
        catch (IOException)
        {
        }
        var all = Encoding.UTF8.GetString(reader.ToArray());
        var split = all.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = split >= 0 ? all[..split] : all;
        var status = head.Length > 12 && int.TryParse(head.AsSpan(9, 3), out var s) ? s : 0;
        return (status, head, split >= 0 ? all[(split + 4)..] : "");
    }

    private static int? HeaderLength(string head) =>
        head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } line
            && int.TryParse(line["Content-Length:".Length..].Trim(), out var n) ? n : null;

    private byte[] Head(string method, string path, string headers) =>
        Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{_app.Port}\r\n{headers}\r\n");

    [Fact]
    public async Task a_malformed_chunked_body_is_a_400_problem()
    {
        var request = Head("POST", "/v1/uploads", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n");
        var (status, head, body) = await RawAsync([.. request, .. "zz\r\n{}\r\n0\r\n\r\n"u8.ToArray()]);
        Assert.True(status == 400, head);
        Assert.Contains("application/problem+json", head, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"code\":\"invalid-request\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_body_shorter_than_its_content_length_is_a_400_problem()
    {
        var request = Head("PUT", "/v1/packages/truncated/1.0.0", "Content-Type: application/json\r\nContent-Length: 500\r\n");
        var before = await fixture.PublishedStreamsAsync(_schema, ["truncated"]);
        var (status, head, body) = await RawAsync([.. request, .. "{\"envelope\":"u8.ToArray()], halfClose: true);
        // Kestrel reads the client's FIN as the connection going away and usually closes without an answer; when it
        // does answer, it is the 400 problem (the app maps "unexpected end of request content").
        Assert.True(status is 0 or 400, head);
        if (status == 400) Assert.Contains("\"code\":\"invalid-request\"", body, StringComparison.Ordinal);
        Assert.Equal(before, await fixture.PublishedStreamsAsync(_schema, ["truncated"]));
    }

    [Fact]
    public async Task a_body_slower_than_the_minimum_data_rate_is_a_408_problem()
    {
        var request = Head("POST", "/v1/uploads", "Content-Type: application/json\r\nContent-Length: 100000\r\n");
        var (status, head, body) = await RawAsync([.. request, .. "{"u8.ToArray()], pauseAfter: TimeSpan.FromSeconds(20));
        Assert.True(status == 408, head);
        Assert.Contains("application/problem+json", head, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"code\":\"request-timeout\"", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nul in the path", 400)]
    [InlineData("bare CR in a header", 400)]
    [InlineData("a 20,000-character path", 414)]
    [InlineData("40 KiB of headers", 431)]
    public async Task what_kestrel_refuses_before_the_app_is_a_4xx_never_a_500(string what, int expected)
    {
        var request = what switch
        {
            "nul in the path" => Encoding.ASCII.GetBytes($"GET /v1/packages/a\0b HTTP/1.1\r\nHost: x\r\n\r\n"),
            "bare CR in a header" => Encoding.ASCII.GetBytes("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\n\r\n"),
            "a 20,000-character path" => Encoding.ASCII.GetBytes($"GET /v1/packages/{new string('a', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n"),
            _ => Encoding.ASCII.GetBytes($"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40 * 1024)}\r\n\r\n"),
        };
        var (status, head, _) = await RawAsync(request);
        Assert.True(status == expected, $"{what}: {head}");
    }
}
