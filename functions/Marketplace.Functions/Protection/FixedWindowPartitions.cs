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
/// sleeping) and knows when each window ends, which the RateLimit header's <c>t</c> and <c>Retry-After</c> need.
/// Windows are aligned to the clock (multiples of the window since the Unix epoch), so every instance counts the same
/// window: a request is admitted when this instance's count plus what the other instances reported for the window
/// (<see cref="SetOthers"/>, from <see cref="RateLimitReconciler"/>) stays within the quota. No database work per
/// request; no queueing (a request is admitted or refused at once). Ended windows are dropped by a sweep at most once
/// per window.
/// </summary>
public sealed class FixedWindowPartitions(string policy, int quota, TimeSpan window, TimeProvider time) : PartitionedRateLimiter<string>
{
    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private long _nextSweepTicks;

    public string Policy { get; } = policy;
    public int Quota { get; } = quota;
    public TimeSpan Window { get; } = window;

    /// <summary>The start of the window <paramref name="now"/> falls in.</summary>
    public DateTimeOffset WindowOf(DateTimeOffset now) =>
        new(now.UtcTicks - (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % Window.Ticks, TimeSpan.Zero);

    public override RateLimiterStatistics? GetStatistics(string resource)
    {
        var available = Quota;
        if (_counters.TryGetValue(resource, out var counter))
        {
            lock (counter)
                available = counter.Start != WindowOf(time.GetUtcNow()) ? Quota : Math.Max(0, Quota - counter.Used - counter.Others);
        }
        return new RateLimiterStatistics { CurrentAvailablePermits = available };
    }

    protected override RateLimitLease AttemptAcquireCore(string resource, int permitCount)
    {
        var now = time.GetUtcNow();
        var start = WindowOf(now);
        Sweep(now);
        var counter = _counters.GetOrAdd(resource, static _ => new Counter());
        lock (counter)
        {
            counter.Roll(start);
            var acquired = counter.Used + counter.Others + permitCount <= Quota;
            if (acquired) counter.Used += permitCount;
            return new WindowLease(acquired, new RateLimitState(Policy, Quota, Window, Quota - counter.Used - counter.Others, start + Window - now));
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(string resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    /// <summary>This instance's counts in the current window not reported yet (marked reported).</summary>
    public List<(string Partition, DateTimeOffset Start, int Used)> TakeUnreported(DateTimeOffset now)
    {
        var start = WindowOf(now);
        var changed = new List<(string, DateTimeOffset, int)>();
        foreach (var (key, counter) in _counters)
        {
            lock (counter)
            {
                if (counter.Start != start || counter.Used == counter.Reported) continue;
                counter.Reported = counter.Used;
                changed.Add((key, start, counter.Used));
            }
        }
        return changed;
    }

    /// <summary>The partitions this instance counts in the current window (whose other instances' counts it wants).</summary>
    public List<string> Held(DateTimeOffset now)
    {
        var start = WindowOf(now);
        return [.. _counters.Where(c => { lock (c.Value) return c.Value.Start == start; }).Select(c => c.Key)];
    }

    /// <summary>What the other instances counted for a partition in the current window (a partition this instance has not seen yet starts
    /// there).</summary>
    public void SetOthers(string partition, DateTimeOffset start, int others)
    {
        if (start != WindowOf(time.GetUtcNow())) return;
        var counter = _counters.GetOrAdd(partition, static _ => new Counter());
        lock (counter)
        {
            counter.Roll(start);
            counter.Others = others;
        }
    }

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
        public int Reported;
        public int Others;

        public void Roll(DateTimeOffset start)
        {
            if (Start == start) return;
            Start = start;
            Used = Reported = Others = 0;
        }
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
