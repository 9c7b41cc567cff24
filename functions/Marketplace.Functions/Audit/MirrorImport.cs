using System.Text;
using JasperFx.Events;
using Marketplace.Functions.Events;
using Marten;

namespace Marketplace.Functions.Audit;

/// <summary>
/// Appends a mirror of the audit feed (CloudEvents JSON lines, as <c>GET /v1/events</c> serves them) to an empty
/// event store, in the feed's order, keeping each event's id and commit time: package events to their package
/// streams, webhook events to theirs, downloads to download streams of up to 512. The daemon then folds every read
/// model from them, which is how a mirror (the CLI's <c>mkt events mirror</c> file) becomes a working registry. The
/// store must append with <c>Marten:AppendMode=QuickWithServerTimestamps</c> so the recorded times are kept.
/// </summary>
public static class MirrorImport
{
    /// <summary><c>Marketplace.Functions events-import &lt;file&gt;</c>: imports a mirror file into the configured (empty) store.</summary>
    public const string CommandName = "events-import";

    public static bool IsRequested(string[] args) => args is [CommandName, ..];

    public static async Task<int> RunAsync(WebApplication app, string[] args)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MirrorImport));
        if (args.Length != 2 || !File.Exists(args[1]))
        {
            logger.LogError("Usage: {Command} <file of CloudEvents JSON lines, as GET /v1/events serves them>", CommandName);
            return 2;
        }
        var store = app.Services.GetRequiredService<IDocumentStore>();
        var statistics = await store.Advanced.FetchEventStoreStatistics(token: app.Lifetime.ApplicationStopping);
        if (statistics.EventCount > 0)
        {
            logger.LogError("The event store already holds {Count} events; import a mirror into an empty schema (Marten:Schema).",
                statistics.EventCount);
            return 1;
        }
        using var reader = File.OpenText(args[1]);
        var count = await ImportAsync(store, LinesOf(reader), app.Lifetime.ApplicationStopping);
        logger.LogInformation("events-import: {Count} events appended; the daemon (or projections-rebuild) builds the read models.", count);
        return 0;
    }

    private const int EventsPerTransaction = 2_000;
    private const int DownloadsPerStream = 512;

    /// <summary>Imports every line of <paramref name="lines"/>; returns the number of events appended.</summary>
    public static async Task<long> ImportAsync(IDocumentStore store, IAsyncEnumerable<string> lines, CancellationToken ct)
    {
        long count = 0;
        var pending = new List<(string? Stream, object Data, Guid Id, DateTimeOffset Time)>(EventsPerTransaction);
        await foreach (var line in lines.WithCancellation(ct))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var (cloudEvent, _) = RegistryCloudEvents.Parse(Encoding.UTF8.GetBytes(line));
            var cataloged = EventCatalog.FindByCloudEventType(cloudEvent.Type ?? "")
                ?? throw new InvalidDataException($"Line {count + 1}: unknown event type {cloudEvent.Type}.");
            var data = RegistryCloudEvents.DataOf(cloudEvent, cataloged.EventType);
            pending.Add((cataloged.Stream(data), data, Guid.Parse(cloudEvent.Id!), cloudEvent.Time ?? DateTimeOffset.UtcNow));
            count++;
            if (pending.Count == EventsPerTransaction)
            {
                await AppendAsync(store, pending, ct);
                pending.Clear();
            }
        }
        if (pending.Count > 0) await AppendAsync(store, pending, ct);
        return count;
    }

    public static async IAsyncEnumerable<string> LinesOf(TextReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
            yield return line;
    }

    // One transaction per chunk, events appended in feed order: Marten assigns sequences in append order.
    private static async Task AppendAsync(
        IDocumentStore store, List<(string? Stream, object Data, Guid Id, DateTimeOffset Time)> events, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        string? downloads = null;
        var inDownloads = 0;
        foreach (var (stream, data, id, time) in events)
        {
            var e = session.Events.BuildEvent(data);
            e.Id = id;
            e.Timestamp = time;
            if (stream is null)
            {
                if (downloads is null || inDownloads == DownloadsPerStream)
                {
                    downloads = "downloads-" + Guid.CreateVersion7().ToString("n");
                    inDownloads = 0;
                }
                inDownloads++;
                session.Events.Append(downloads, e);
            }
            else session.Events.Append(stream, e);
        }
        await session.SaveChangesAsync(ct);
    }
}
