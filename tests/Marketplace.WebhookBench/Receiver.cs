using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Marketplace.WebhookBench;

/// <summary>A fast receiver: Kestrel on 127.0.0.1, answers 204 at once and notes when each webhook-id first arrived.</summary>
internal sealed class Receiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Receiver(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public ConcurrentDictionary<string, DateTimeOffset> FirstSeen { get; } = new(StringComparer.Ordinal);

    public long Requests;

    public static async Task<Receiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        Receiver? receiver = null;
        app.Run(async context =>
        {
            var at = DateTimeOffset.UtcNow;
            using var drain = new MemoryStream();
            await context.Request.Body.CopyToAsync(drain);
            Interlocked.Increment(ref receiver!.Requests);
            receiver.FirstSeen.TryAdd(context.Request.Headers["webhook-id"].ToString(), at);
            context.Response.StatusCode = 204;
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new Receiver(app, address.TrimEnd('/') + "/hook");
        return receiver;
    }

    public async Task<DateTimeOffset> WaitForAsync(IReadOnlyCollection<string> ids, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!ids.All(FirstSeen.ContainsKey))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{ids.Count(FirstSeen.ContainsKey)} of {ids.Count} deliveries arrived within {timeout}.");
            await Task.Delay(5);
        }
        return ids.Max(id => FirstSeen[id]);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
