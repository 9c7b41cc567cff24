using System.Globalization;
using System.Net.Http.Headers;

namespace Marketplace.Webhooks;

/// <summary>
/// When to try a failed delivery again. <see cref="Delays"/> is the wait after the 1st, 2nd, … failed attempt (the
/// Standard Webhooks example schedule by default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h — about three
/// days); after the last one the delivery is dead. Each wait is spread by ±<see cref="Jitter"/> so receivers that
/// failed together are not retried together. A <c>Retry-After</c> from the receiver replaces the wait (capped).
/// </summary>
public sealed record RetrySchedule(IReadOnlyList<TimeSpan> Delays, double Jitter, TimeSpan MaxRetryAfter)
{
    public static readonly IReadOnlyList<TimeSpan> StandardDelays =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
        TimeSpan.FromHours(10), TimeSpan.FromHours(14), TimeSpan.FromHours(20), TimeSpan.FromHours(24),
    ];

    public static readonly RetrySchedule Standard = new(StandardDelays, 0.2, TimeSpan.FromHours(24));

    /// <summary>Attempts in all: the first one and one after each delay.</summary>
    public int MaxAttempts => Delays.Count + 1;

    /// <summary>The wait after <paramref name="failedAttempts"/> failures, or null when the delivery is dead.</summary>
    /// <param name="unit">A uniform random number in [0, 1) that places the wait inside the jitter band.</param>
    public TimeSpan? DelayAfter(int failedAttempts, double unit)
    {
        if (failedAttempts < 1 || failedAttempts > Delays.Count) return null;
        var baseDelay = Delays[failedAttempts - 1];
        var factor = 1 + Jitter * (2 * Math.Clamp(unit, 0, 1) - 1);
        return TimeSpan.FromTicks((long)(baseDelay.Ticks * factor));
    }

    /// <summary>Parses <c>a,b,c</c> (TimeSpan texts, e.g. <c>00:00:05,00:05:00</c>); null when any is not a positive TimeSpan.</summary>
    public static IReadOnlyList<TimeSpan>? ParseDelays(string text)
    {
        var delays = new List<TimeSpan>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!TimeSpan.TryParse(part, CultureInfo.InvariantCulture, out var delay) || delay <= TimeSpan.Zero) return null;
            delays.Add(delay);
        }
        return delays;
    }

    /// <summary>
    /// The wait a <c>Retry-After</c> asks for (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), capped by
    /// <see cref="MaxRetryAfter"/>; null when absent or unreadable.
    /// </summary>
    public TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        TimeSpan? wait = header switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - now,
            _ => null,
        };
        if (wait is not { } w) return null;
        if (w < TimeSpan.Zero) w = TimeSpan.Zero;
        return w > MaxRetryAfter ? MaxRetryAfter : w;
    }
}
