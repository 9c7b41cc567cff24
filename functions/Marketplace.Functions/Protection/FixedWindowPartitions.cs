using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Marketplace.Functions.Protection;

/// <summary>Where one partition of a policy stands after an acquisition: what the RateLimit fields report.</summary>
public sealed record RateLimitState(string Policy, int Quota, TimeSpan Window, int Remaining, TimeSpan ResetAfter)
{
    public const string MetadataName = "marketplace.rate-limit";

    /// <summary>Whole seconds until the window ends, at least 1 (for <c>t</c> and <c>Retry-After</c>).</summary>
    public int ResetSeconds => Math.Max(1, (int)Math.Ceiling(ResetAfter.TotalSeconds));
}

/// <summary>
/// A fixed-window counter per partition key, as a <see cref="PartitionedRateLimiter{TResource}"/>. Unlike the
/// framework's <see cref="FixedWindowRateLimiter"/> it reads a <see cref="TimeProvider"/> (tests move time instead of
/// sleeping) and knows when each window ends, which the RateLimit header's <c>t</c> and <c>Retry-After</c> need. A
/// window starts with a partition's first request after the previous one ended; no queueing (a request is admitted or
/// refused at once). Partitions whose window has ended are dropped by a sweep at most once per window.
/// </summary>
public sealed class FixedWindowPartitions(string policy, int quota, TimeSpan window, TimeProvider time) : PartitionedRateLimiter<string>
{
    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private long _nextSweepTicks;

    public string Policy { get; } = policy;
    public int Quota { get; } = quota;
    public TimeSpan Window { get; } = window;

    public override RateLimiterStatistics? GetStatistics(string resource)
    {
        var available = Quota;
        if (_counters.TryGetValue(resource, out var counter))
        {
            lock (counter)
                available = time.GetUtcNow() >= counter.Start + Window ? Quota : Quota - counter.Used;
        }
        return new RateLimiterStatistics { CurrentAvailablePermits = available };
    }

    protected override RateLimitLease AttemptAcquireCore(string resource, int permitCount)
    {
        var now = time.GetUtcNow();
        Sweep(now);
        var counter = _counters.GetOrAdd(resource, static _ => new Counter());
        lock (counter)
        {
            if (counter.Used == 0 || now >= counter.Start + Window)
            {
                counter.Start = now;
                counter.Used = 0;
            }
            var acquired = counter.Used + permitCount <= Quota;
            if (acquired) counter.Used += permitCount;
            return new WindowLease(acquired, new RateLimitState(Policy, Quota, Window, Quota - counter.Used, counter.Start + Window - now));
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(string resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    private void Sweep(DateTimeOffset now)
    {
        var nextSweep = Interlocked.Read(ref _nextSweepTicks);
        if (now.UtcTicks < nextSweep || Interlocked.CompareExchange(ref _nextSweepTicks, (now + Window).UtcTicks, nextSweep) != nextSweep)
            return;
        foreach (var (key, counter) in _counters)
        {
            bool ended;
            lock (counter) ended = now >= counter.Start + Window;
            // A request holding this counter right now counts in an orphan: at most one request per key, at the
            // edge of a window that has already ended.
            if (ended) _counters.TryRemove(new KeyValuePair<string, Counter>(key, counter));
        }
    }

    private sealed class Counter
    {
        public DateTimeOffset Start;
        public int Used;
    }
}

/// <summary>A lease carrying the partition's state (and <c>RetryAfter</c> when refused).</summary>
public sealed class WindowLease(bool acquired, RateLimitState? state) : RateLimitLease
{
    /// <summary>For requests no policy applies to.</summary>
    public static readonly RateLimitLease Unlimited = new WindowLease(true, null);

    private readonly RateLimitState? _state = state;

    public override bool IsAcquired { get; } = acquired;

    public RateLimitState? State => _state;

    public override IEnumerable<string> MetadataNames =>
        _state is null ? [] : IsAcquired ? [RateLimitState.MetadataName] : [RateLimitState.MetadataName, MetadataName.RetryAfter.Name];

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        metadata = null;
        if (_state is null) return false;
        if (metadataName == RateLimitState.MetadataName) metadata = _state;
        else if (metadataName == MetadataName.RetryAfter.Name && !IsAcquired) metadata = TimeSpan.FromSeconds(_state.ResetSeconds);
        return metadata is not null;
    }
}
