using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Marketplace.Functions.Infrastructure;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Serverless;

public sealed class ProjectionOptions
{
    /// <summary>
    /// Whether this instance answers the catch-up routes. Only the projections function (AWS) turns it on (the
    /// Azure worker's timer calls the catch-up directly): anywhere else the routes answer 404, so a path that leaks onto a public
    /// route still cannot start a second daemon.
    /// </summary>
    public bool CatchUpEndpoint { get; set; }

    /// <summary>How long one catch-up may run; a run cut short keeps what it committed and the next one goes on.</summary>
    public TimeSpan CatchUpDeadline { get; set; } = TimeSpan.FromSeconds(50);

    /// <summary>
    /// What pruning and one webhook dispatch may take after the projections, even when they used all of
    /// <see cref="CatchUpDeadline"/>: the route's own request timeout is the two plus a small margin, which must stay
    /// under the function's timeout (the SAM template: 40 s + 10 s + 2 s of 60 s).
    /// </summary>
    public TimeSpan MaintenanceBudget { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The catch-up routes' request timeout (the app's default of 15 s would cut every catch-up after a backlog).</summary>
    public TimeSpan RouteTimeout => CatchUpDeadline + MaintenanceBudget + TimeSpan.FromSeconds(2);
}

public sealed record ShardProgress(string Shard, long Sequence);

public sealed record CatchUpSummary(
    bool CaughtUp, long HighWaterMark, double ElapsedMs, string Trigger, IReadOnlyList<ShardProgress> Before, IReadOnlyList<ShardProgress> After);

/// <summary>
/// Runs Marten's async projections (read models, and later the subscriptions) up to the event store's high-water
/// mark, then stops: the serverless replacement of the in-process daemon. A schedule invokes it through the Lambda
/// Web Adapter's pass-through path (<see cref="Path"/>) or the Azure worker's timer function
/// (<see cref="CatchUpAndDispatchAsync"/>).
/// There is no distributed lock (HotCold mode cannot run here): one caller at a time is the deployment's job
/// (reserved concurrency 1; Azure timers are singletons), and an instance running the daemon itself refuses.
/// </summary>
public static class ProjectionCatchUp
{
    public const string Path = "/internal/projections";

    public static IEndpointRouteBuilder MapProjectionCatchUp(this IEndpointRouteBuilder app)
    {
        var timeout = new Microsoft.AspNetCore.Http.Timeouts.RequestTimeoutPolicy
        {
            Timeout = app.ServiceProvider.GetRequiredService<ProjectionOptions>().RouteTimeout,
        };
        app.MapPost(Path, CatchUp).WithName("CatchUpProjections").ExcludeFromDescription().WithRequestTimeout(timeout);
        return app;
    }

    /// <summary>
    /// The maintenance tick after the projections: pruning, then one webhook dispatch, both inside
    /// <see cref="ProjectionOptions.MaintenanceBudget"/> (a receiver that never answers cannot hold the function).
    /// </summary>
    public static async Task MaintainAsync(ProjectionOptions options, StatementReceiptPruning pruning, Webhooks.Delivering.WebhookDispatcher webhooks,
        ILogger logger, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
        budget.CancelAfter(options.MaintenanceBudget);
        try
        {
            // The scheduled run is the deployment's maintenance tick: HTTP functions never live long enough to prune.
            await pruning.PruneAsync(budget.Token);
            // The catch-up queued webhook deliveries (the outbox is one of its subscriptions): send what is due.
            var left = options.MaintenanceBudget - clock.Elapsed;
            if (left > TimeSpan.Zero) await webhooks.DrainAsync(left, budget.Token);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // The budget: deliveries in flight were cancelled and count as failed attempts; the next tick goes on.
            logger.LogWarning("Maintenance after the catch-up was cut at its budget of {Budget}.", options.MaintenanceBudget);
        }
    }

    public static async Task<Results<Ok<CatchUpSummary>, ProblemHttpResult>> CatchUp(
        HttpRequest request, IDocumentStore store, ProjectionOptions options, Infrastructure.StoreSettings settings,
        StatementReceiptPruning pruning, Webhooks.Delivering.WebhookDispatcher webhooks, ILoggerFactory logs, CancellationToken ct)
    {
        if (Refusal(options, settings) is { } refusal) return refusal.ToProblem();
        var trigger = await TriggerOf(request, ct);
        var logger = logs.CreateLogger(typeof(ProjectionCatchUp));
        var summary = await RunAsync(store, options, trigger, logger, ct);
        await MaintainAsync(options, pruning, webhooks, logger, ct);
        return TypedResults.Ok(summary);
    }

    /// <summary>
    /// A scheduled run outside HTTP (the Azure worker's timer function): the catch-up, receipt pruning, then the due
    /// webhook deliveries — what <c>POST /internal/projections</c> does. Throws where a daemon runs in-process.
    /// </summary>
    public static async Task<CatchUpSummary> CatchUpAndDispatchAsync(IServiceProvider services, string trigger, CancellationToken ct)
    {
        var store = services.GetRequiredService<Infrastructure.StoreSettings>();
        if (store.DaemonInProcess)
            throw new InvalidOperationException(
                $"This instance runs the async daemon in-process (Marten:Daemon={store.Daemon}); a catch-up beside it would be a second daemon.");
        var options = services.GetRequiredService<ProjectionOptions>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProjectionCatchUp));
        var summary = await RunAsync(services.GetRequiredService<IDocumentStore>(), options, trigger, logger, ct);
        await MaintainAsync(options, services.GetRequiredService<StatementReceiptPruning>(),
            services.GetRequiredService<Webhooks.Delivering.WebhookDispatcher>(), logger, ct);
        return summary;
    }

    private static DomainError? Refusal(ProjectionOptions options, Infrastructure.StoreSettings settings)
    {
        if (settings.DaemonInProcess)
            return DomainError.Conflict(
                $"This instance runs the async daemon in-process (Marten:Daemon={settings.Daemon}); a catch-up beside it would be a second daemon.");
        if (!options.CatchUpEndpoint)
            return DomainError.NotFound("No such route on this instance.");
        return null;
    }

    public static async Task<CatchUpSummary> RunAsync(
        IDocumentStore store, ProjectionOptions options, string trigger, ILogger logger, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var before = await ProgressAsync(store, ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(options.CatchUpDeadline);
        using var daemon = await store.BuildProjectionDaemonAsync(logger: logger);
        try
        {
            await daemon.CatchUpAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The deadline: what was committed stays, the next run goes on from there.
        }
        // A shard cut short by the deadline before its first batch has no progress row yet: the deadline decides.
        var cutShort = deadline.IsCancellationRequested;
        var highWater = daemon.HighWaterMark();
        var after = await ProgressAsync(store, ct);
        var summary = new CatchUpSummary(!cutShort && after.All(s => s.Sequence >= highWater), highWater,
            Math.Round(clock.Elapsed.TotalMilliseconds, 1), trigger, before, after);
        logger.LogInformation("Projections caught up: {CaughtUp} to high-water mark {HighWaterMark} in {ElapsedMs} ms ({Trigger}): {Shards}",
            summary.CaughtUp, highWater, summary.ElapsedMs, trigger, string.Join(", ", after.Select(s => $"{s.Shard}={s.Sequence}")));
        return summary;
    }

    private static async Task<IReadOnlyList<ShardProgress>> ProgressAsync(IDocumentStore store, CancellationToken ct) =>
        (await store.Advanced.AllProjectionProgress(token: ct))
            .Where(s => s.ShardName != "HighWaterMark")
            .Select(s => new ShardProgress(s.ShardName, s.Sequence))
            .OrderBy(s => s.Shard, StringComparer.Ordinal)
            .ToList();

    /// <summary>Names what invoked the run: an EventBridge schedule or a plain POST.</summary>
    private static async Task<string> TriggerOf(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength is 0 || !(request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) ?? request.ContentLength > 0))
            return "request";
        try
        {
            using var json = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return "request";
            if (root.TryGetProperty("detail-type", out var detailType) && root.TryGetProperty("source", out var source))
                return $"{source.GetString()}: {detailType.GetString()}";
            return "request";
        }
        catch (JsonException)
        {
            return "request";
        }
    }
}
