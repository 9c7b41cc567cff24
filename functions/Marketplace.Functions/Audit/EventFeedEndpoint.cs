using Marketplace.Functions.Protection;
using System.Globalization;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marketplace.Functions.Events;
using Marketplace.Functions.Infrastructure;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Audit;

/// <summary>
/// <c>GET /v1/events?after=&amp;limit=</c>: the audit feed, every event in global order as CloudEvents 1.0 JSON lines
/// (<c>application/x-ndjson</c>), each with its <c>sequence</c>. It serves only up to the daemon's high-water mark:
/// below it every sequence is either committed or known to be a gap, so a mirror that asks again with
/// <c>after</c> = the last sequence it saw never misses an event committed late by a slower transaction.
/// Each line is the exact bytes the transparency log hashed for that event: a logged event's line is its stored
/// entry (<see cref="Transparency.TransparencyLogProjection.EntriesIn"/>), never re-serialised once stored; other events
/// (downloads), and logged ones the log projection has not reached yet, are serialised by the one CloudEvents mapping.
/// </summary>
public static class EventFeedEndpoint
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapEventFeed(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/events", GetEvents).WithName("GetEvents")
            .WithSummary("The audit feed: events after a sequence, in global order, as CloudEvents JSON lines.")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson").WithProblems(400, 429)
            .RateLimited(RateLimitedOperation.Feed);
        app.MapGet("/v1/packages/{name}/events", GetPackageEvents).WithName("GetPackageEvents")
            .WithSummary("One package's history (owners, publishes, yanks) as CloudEvents JSON lines, each a leaf of the transparency log.")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson").WithProblems(400, 404, 429)
            .RateLimited(RateLimitedOperation.Feed);
        return app;
    }

    /// <summary>
    /// The package stream as feed lines, up to the high-water mark like the feed: what a client needs to check that
    /// the key which signed a version was an owner when it was published, each line provable in the log.
    /// </summary>
    public static async Task<Results<EmptyHttpResult, ProblemHttpResult>> GetPackageEvents(
        string name, HttpContext http, IDocumentStore store, CancellationToken ct)
    {
        if (!Marketplace.Packages.PackageName.Normalize(name).TryGet(out var normalized, out var error)) return error.ToProblem();
        await using var session = store.QuerySession();
        var highWaterMark = await HighWaterMarkAsync(store, ct);
        var events = (await session.Events.FetchStreamAsync(normalized, token: ct)).Where(e => e.Sequence <= highWaterMark).ToList();
        if (events.Count == 0)
            return DomainError.NotFound($"Package {normalized} does not exist (or is not visible yet).").ToProblem();
        await WriteLinesAsync(http, session, events, ct);
        return TypedResults.Empty;
    }

    public static async Task<Results<EmptyHttpResult, ProblemHttpResult>> GetEvents(
        string? after, string? limit, HttpContext http, IDocumentStore store, CancellationToken ct)
    {
        long from = 0;
        var count = DefaultLimit;
        if (after is not null && (after.Length > 19 || !long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out from)))
            return DomainError.InvalidRequest("after is a non-negative integer (a sequence).").ToProblem();
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1 || count > MaxLimit))
            return DomainError.InvalidRequest($"limit is an integer from 1 to {MaxLimit}.").ToProblem();

        await using var session = store.QuerySession();
        var highWaterMark = await HighWaterMarkAsync(store, ct);
        var events = await session.Events.QueryAllRawEvents()
            .Where(e => e.Sequence > from && e.Sequence <= highWaterMark)
            .OrderBy(e => e.Sequence)
            .Take(count)
            .ToListAsync(ct);

        http.Response.Headers["X-High-Water-Mark"] = highWaterMark.ToString(CultureInfo.InvariantCulture);
        // Where to go on from: the last sequence this page covered, even when its last events were not for the
        // feed (Marten's tombstones of failed transactions), so an empty page means the end only when this equals after.
        http.Response.Headers["X-Last-Sequence"] = (events.Count > 0 ? events[^1].Sequence : from).ToString(CultureInfo.InvariantCulture);
        await WriteLinesAsync(http, session, events, ct);
        return TypedResults.Empty;
    }

    /// <summary>The daemon's high-water mark: every sequence at or below it is committed or a known gap.</summary>
    private static async Task<long> HighWaterMarkAsync(IDocumentStore store, CancellationToken ct) =>
        (await store.Advanced.AllProjectionProgress(token: ct)).FirstOrDefault(p => p.ShardName == ShardState.HighWaterMark)?.Sequence ?? 0;

    /// <summary>The events as feed lines: each one's CloudEvent JSON (the bytes the transparency log hashes) and a newline.</summary>
    private static async Task WriteLinesAsync(
        HttpContext http, IQuerySession session, IReadOnlyList<JasperFx.Events.IEvent> events, CancellationToken ct)
    {
        var logged = events.Where(e => EventCatalog.IsLogLeaf(e.EventType)).Select(e => e.Sequence).ToArray();
        var stored = await Transparency.TransparencyLogProjection.LoadEntriesAsync(
            session, Transparency.TransparencyLogProjection.EntriesIn(session.DocumentStore.Options.DatabaseSchemaName), logged, ct);
        http.Response.ContentType = "application/x-ndjson; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        foreach (var e in events.Where(e => RegistryCloudEvents.IsMapped(e.EventType)))
        {
            await http.Response.Body.WriteAsync(stored.TryGetValue(e.Sequence, out var entry) ? entry : RegistryCloudEvents.Serialize(e), ct);
            await http.Response.Body.WriteAsync(Newline, ct);
        }
    }

    private static readonly ReadOnlyMemory<byte> Newline = "\n"u8.ToArray();
}
