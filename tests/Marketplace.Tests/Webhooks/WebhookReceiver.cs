using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Marketplace.Tests.Webhooks;

/// <summary>One request as a receiver got it: the raw body bytes and the headers that matter.</summary>
public sealed record ReceivedWebhook(DateTimeOffset At, string Method, string Path, string? ContentType, string? Id, string? Timestamp, string? Signature, byte[] Body, int Answered);

/// <summary>What a receiver answers to one request.</summary>
public sealed record Reply(int Status, TimeSpan Delay = default, string? RetryAfter = null, string? Location = null);

/// <summary>
/// A webhook receiver: a real Kestrel server on 127.0.0.1 with a random port, started inside the test. It records
/// every request and answers by <see cref="Respond"/> (200 by default); <see cref="StopAsync"/> and
/// <see cref="StartAgainAsync"/> take it down (connections refused) and bring it back on the same port.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private WebApplication? _app;

    private WebhookReceiver(int port) => Port = port;

    public int Port { get; }

    public string Url(string path = "/hook") => $"http://127.0.0.1:{Port}{path}";

    /// <summary>The answer to a request, given the request and how many came before it with the same webhook-id.</summary>
    public Func<ReceivedWebhook, int, Reply> Respond { get; set; } = (_, _) => new Reply(200);

    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var receiver = new WebhookReceiver(port);
        await receiver.StartAgainAsync();
        return receiver;
    }

    public async Task StartAgainAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{Port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var h = context.Request.Headers;
        var id = h["webhook-id"].ToString();
        var seen = _received.Count(r => r.Id == id);
        var probe = new ReceivedWebhook(DateTimeOffset.UtcNow, context.Request.Method, context.Request.Path, context.Request.ContentType, id,
            h["webhook-timestamp"].ToString(), h["webhook-signature"].ToString(), body.ToArray(), 0);
        var reply = Respond(probe, seen);
        _received.Enqueue(probe with { Answered = reply.Status });
        if (reply.Delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(reply.Delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        context.Response.StatusCode = reply.Status;
        if (reply.RetryAfter is not null) context.Response.Headers.RetryAfter = reply.RetryAfter;
        if (reply.Location is not null) context.Response.Headers.Location = reply.Location;
        await context.Response.WriteAsync("ok");
    }

    /// <summary>Waits until the received requests satisfy <paramref name="done"/> (polling; the test fails after the timeout).</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitFor(Func<IReadOnlyList<ReceivedWebhook>, bool> done, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var received = Received;
            if (done(received)) return received;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Timed out waiting for {what ?? "webhooks"}; received {received.Count}: {string.Join(", ", received.Select(r => $"{r.Id}→{r.Answered}"))}");
            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
