using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Marketplace.Functions.Protection;

/// <summary>Endpoint metadata: this route counts against its operation's quotas.</summary>
public sealed record RateLimitedRoute(RateLimitedOperation Operation);

/*
 * Why two limiters, and why this one is global.
 *
 * Per client address: ASP.NET Core's rate limiting middleware, with this class as its GlobalLimiter. Routes opt in
 * with .RateLimited(operation) metadata; every other request gets an unlimited lease at the cost of one metadata
 * lookup. A global limiter (rather than named policies) is handed the HttpContext on every acquisition, so it can
 * write the RateLimit fields on admitted answers too; a named policy's partition limiter never sees the request.
 *
 * Per owner key: the key is only known, and only worth trusting, once the DSSE signature over the statement has been
 * verified, which needs the whole body. Reading and verifying the body inside a partition function would do that work
 * twice and before the body cap, so the endpoints charge KeyRateLimiter right after verification instead.
 */

/// <summary>The per-client-address limits, as the rate limiting middleware's global limiter.</summary>
public sealed class AddressRateLimiter : PartitionedRateLimiter<HttpContext>
{
    private readonly ProtectionOptions _options;
    private readonly Dictionary<RateLimitedOperation, FixedWindowPartitions> _limiters;

    public AddressRateLimiter(ProtectionOptions options, [FromKeyedServices(ProtectionServices.ClockKey)] TimeProvider time)
    {
        _options = options;
        _limiters = Enum.GetValues<RateLimitedOperation>()
            .Where(op => options.RateLimits.For(op).PerAddress > 0)
            .ToDictionary(op => op, op => new FixedWindowPartitions(ProtectionOptions.PolicyName(op, "address"),
                options.RateLimits.For(op).PerAddress, options.RateLimits.For(op).Window, time));
    }

    /// <summary>The counters, for <see cref="RateLimitReconciler"/>.</summary>
    public IEnumerable<FixedWindowPartitions> Partitions => _limiters.Values;

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    /// <remarks>
    /// A route may count against several operations (a download: all downloads by the address, and that package's by
    /// the address); the first refusal is the answer, and the fields carry an item per policy checked.
    /// </remarks>
    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount)
    {
        var routes = resource.GetEndpoint()?.Metadata.GetOrderedMetadata<RateLimitedRoute>();
        if (routes is not { Count: > 0 }) return WindowLease.Unlimited;
        ClientAddress? client = null;
        RateLimitLease result = WindowLease.Unlimited;
        foreach (var route in routes)
        {
            if (!_limiters.TryGetValue(route.Operation, out var limiter)) continue;
            client ??= ClientAddress.Of(resource, _options);
            if (client.Exempt) return WindowLease.Unlimited;
            var partition = client.Partition ?? "unknown";
            if (route.Operation == RateLimitedOperation.PackageDownload)
                partition += " " + (resource.GetRouteValue("name") as string ?? "").ToLowerInvariant();
            var lease = limiter.AttemptAcquire(partition, permitCount);
            // The first policy replaces the fields (the middleware may try twice), later ones add their items.
            if (lease is WindowLease { State: { } state }) RateLimitHeaders.Write(resource.Response, state, replace: result == WindowLease.Unlimited);
            result = lease;
            if (!lease.IsAcquired) return lease;
        }
        return result;
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var limiter in _limiters.Values) limiter.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// The per-owner-key limits, charged by the publish, yank and owners endpoints once the statement's signature has
/// been verified. A statement is charged once: replaying a (public, still fresh) signed statement is refused later as
/// <c>replayed-statement</c> and must not spend its signer's quota, or anyone could lock an owner out.
/// </summary>
public sealed class KeyRateLimiter : IDisposable
{
    private readonly ProtectionOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<RateLimitedOperation, FixedWindowPartitions> _limiters;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _charged = new(StringComparer.Ordinal);
    private long _nextSweepTicks;

    public KeyRateLimiter(ProtectionOptions options, [FromKeyedServices(ProtectionServices.ClockKey)] TimeProvider time)
    {
        _options = options;
        _time = time;
        _limiters = Enum.GetValues<RateLimitedOperation>()
            .Where(op => options.RateLimits.For(op).PerKey > 0)
            .ToDictionary(op => op, op => new FixedWindowPartitions(ProtectionOptions.PolicyName(op, "key"),
                options.RateLimits.For(op).PerKey, options.RateLimits.For(op).Window, time));
    }

    /// <summary>The counters, for <see cref="RateLimitReconciler"/>.</summary>
    public IEnumerable<FixedWindowPartitions> Partitions => _limiters.Values;

    /// <returns><c>rate-limited</c> (with <c>Retry-After</c> and the RateLimit fields set) or null to go on.</returns>
    public DomainError? Charge(HttpContext context, RateLimitedOperation operation, string keyId, string statementId)
    {
        if (!_limiters.TryGetValue(operation, out var limiter) || ClientAddress.Of(context, _options).Exempt)
            return null;
        var now = _time.GetUtcNow();
        Sweep(now);
        if (!_charged.TryAdd(statementId, now + limiter.Window))
            return null;
        using var lease = limiter.AttemptAcquire(keyId);
        var state = ((WindowLease)lease).State!;
        RateLimitHeaders.Write(context.Response, state, replace: false);
        if (lease.IsAcquired) return null;
        // Refused, so not spent: the same statement may be sent again once the window allows.
        _charged.TryRemove(statementId, out _);
        return RateLimitHeaders.Refuse(context.Response, state);
    }

    public void Dispose()
    {
        foreach (var limiter in _limiters.Values) limiter.Dispose();
    }

    private void Sweep(DateTimeOffset now)
    {
        var next = Interlocked.Read(ref _nextSweepTicks);
        if (now.UtcTicks < next || Interlocked.CompareExchange(ref _nextSweepTicks, now.AddMinutes(1).UtcTicks, next) != next)
            return;
        foreach (var (id, until) in _charged)
        {
            if (until <= now) _charged.TryRemove(new KeyValuePair<string, DateTimeOffset>(id, until));
        }
    }
}

public static class RateLimitedRouteExtensions
{
    /// <summary>Counts this route against <paramref name="operation"/>'s per-address quota.</summary>
    public static TBuilder RateLimited<TBuilder>(this TBuilder route, RateLimitedOperation operation) where TBuilder : IEndpointConventionBuilder =>
        route.WithMetadata(new RateLimitedRoute(operation));
}
