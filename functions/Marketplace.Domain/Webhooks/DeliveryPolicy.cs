using System.Net.Http.Headers;

namespace Marketplace.Webhooks;

/// <summary>The states of one delivery, as the deliveries table and the delivery log name them.</summary>
public static class DeliveryStates
{
    /// <summary>Queued, never tried (or re-queued by a redelivery).</summary>
    public const string Pending = "pending";

    /// <summary>Tried and failed; tried again at its next attempt time (or held while its subscription is disabled).</summary>
    public const string Failed = "failed";

    public const string Succeeded = "succeeded";

    /// <summary>Every attempt of the schedule failed; the chain moves on without it.</summary>
    public const string Dead = "dead";

    /// <summary>States that still hold their chain: nothing later for the same package is sent before them.</summary>
    public static bool IsOpen(string state) => state is Pending or Failed;
}

/// <summary>What one attempt's answer makes of a delivery.</summary>
/// <param name="State">The delivery's state after the attempt.</param>
/// <param name="NextAttemptAt">When it is tried again (failed), null when it is done.</param>
/// <param name="DisablesSubscription">The receiver answered 410 Gone: the subscription is disabled and the delivery held.</param>
public sealed record DeliveryDecision(string State, DateTimeOffset? NextAttemptAt, bool DisablesSubscription)
{
    /// <summary>Whether the rest of the chain waits behind this delivery.</summary>
    public bool HoldsChain => State == DeliveryStates.Failed;
}

/// <summary>
/// The outcome policy of a webhook attempt, pure: 2xx succeeds; 410 disables the subscription and holds the delivery
/// (due at once, so a re-enabling update sends it first); any other answer, a timeout or a refused connection fails and
/// waits the receiver's <c>Retry-After</c> on 429 and 503, else the schedule's delay for this failure with jitter; the
/// schedule's last attempt failing makes the delivery dead.
/// </summary>
public static class DeliveryPolicy
{
    /// <param name="status">The HTTP status, or null when there was no answer (timeout, refused, reset).</param>
    /// <param name="retryAfter">The answer's <c>Retry-After</c>, if any.</param>
    /// <param name="triesBefore">Attempts made before this one.</param>
    /// <param name="now">When the attempt ended (waits count from here).</param>
    /// <param name="jitterUnit">A uniform random number in [0, 1) that places a backoff inside the jitter band.</param>
    public static DeliveryDecision Decide(int? status, RetryConditionHeaderValue? retryAfter, int triesBefore, DateTimeOffset now,
        RetrySchedule schedule, double jitterUnit)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var tries = triesBefore + 1;
        if (status is >= 200 and < 300) return new DeliveryDecision(DeliveryStates.Succeeded, null, false);
        if (status == 410) return new DeliveryDecision(DeliveryStates.Failed, now, true);
        if (tries >= schedule.MaxAttempts) return new DeliveryDecision(DeliveryStates.Dead, null, false);
        var asked = status is 429 or 503 ? schedule.RetryAfter(retryAfter, now) : null;
        var wait = asked ?? schedule.DelayAfter(tries, jitterUnit)!.Value;
        return new DeliveryDecision(DeliveryStates.Failed, now + wait, false);
    }
}
