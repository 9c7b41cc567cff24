using System.Net.Http.Headers;
using FsCheck.Xunit;
using Marketplace.Webhooks;

namespace Marketplace.UnitTests.Webhooks;

public sealed class DeliveryPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly RetrySchedule Schedule = new([TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5)], 0.2, TimeSpan.FromHours(1));

    [Theory]
    [InlineData(200)]
    [InlineData(204)]
    [InlineData(299)]
    public void any_2xx_succeeds_and_frees_the_chain(int status)
    {
        var d = DeliveryPolicy.Decide(status, null, 2, Now, Schedule, 0.5);
        Assert.Equal(new DeliveryDecision(DeliveryStates.Succeeded, null, false), d);
        Assert.False(d.HoldsChain);
    }

    [Fact]
    public void gone_disables_the_subscription_and_holds_the_delivery_due_at_once_even_on_the_last_attempt()
    {
        var d = DeliveryPolicy.Decide(410, null, Schedule.MaxAttempts - 1, Now, Schedule, 0.5);
        Assert.Equal(new DeliveryDecision(DeliveryStates.Failed, Now, true), d);
        Assert.True(d.HoldsChain);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(500)]
    [InlineData(307)]
    [InlineData(404)]
    public void a_failure_waits_the_schedules_delay_for_that_failure(int? status)
    {
        Assert.Equal(new DeliveryDecision(DeliveryStates.Failed, Now + TimeSpan.FromSeconds(5), false), DeliveryPolicy.Decide(status, null, 0, Now, Schedule, 0.5));
        Assert.Equal(new DeliveryDecision(DeliveryStates.Failed, Now + TimeSpan.FromMinutes(5), false), DeliveryPolicy.Decide(status, null, 1, Now, Schedule, 0.5));
    }

    [Fact]
    public void the_last_failed_attempt_makes_the_delivery_dead_and_the_chain_moves_on()
    {
        var d = DeliveryPolicy.Decide(500, null, Schedule.MaxAttempts - 1, Now, Schedule, 0.5);
        Assert.Equal(new DeliveryDecision(DeliveryStates.Dead, null, false), d);
        Assert.False(d.HoldsChain);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public void retry_after_on_429_and_503_is_the_wait_exactly(int status)
    {
        var d = DeliveryPolicy.Decide(status, new RetryConditionHeaderValue(TimeSpan.FromSeconds(2)), 0, Now, Schedule, 0.9);
        Assert.Equal(Now + TimeSpan.FromSeconds(2), d.NextAttemptAt);
        var date = DeliveryPolicy.Decide(status, new RetryConditionHeaderValue(Now + TimeSpan.FromSeconds(30)), 0, Now, Schedule, 0.9);
        Assert.Equal(Now + TimeSpan.FromSeconds(30), date.NextAttemptAt);
    }

    [Fact]
    public void retry_after_is_capped_and_ignored_on_other_statuses()
    {
        Assert.Equal(Now + TimeSpan.FromHours(1), DeliveryPolicy.Decide(429, new RetryConditionHeaderValue(TimeSpan.FromDays(9)), 0, Now, Schedule, 0.5).NextAttemptAt);
        Assert.Equal(Now + TimeSpan.FromSeconds(5), DeliveryPolicy.Decide(500, new RetryConditionHeaderValue(TimeSpan.FromSeconds(2)), 0, Now, Schedule, 0.5).NextAttemptAt);
    }

    [Property]
    public bool a_backoff_stays_inside_the_jitter_band(byte triesBefore, double unit)
    {
        var tries = triesBefore % Schedule.Delays.Count;
        var u = double.IsFinite(unit) ? Math.Abs(unit % 1) : 0;
        var d = DeliveryPolicy.Decide(500, null, tries, Now, Schedule, u);
        var baseDelay = Schedule.Delays[tries];
        var wait = d.NextAttemptAt!.Value - Now;
        return d.State == DeliveryStates.Failed && wait >= baseDelay * 0.8 - TimeSpan.FromTicks(1) && wait <= baseDelay * 1.2 + TimeSpan.FromTicks(1);
    }
}

public sealed class DownloadFanOutTests
{
    [Theory]
    [InlineData("registry", false, true)]
    [InlineData("registry", true, false)]
    [InlineData("owner", false, false)]
    [InlineData("package", false, false)]
    public void only_registry_wide_download_events_need_an_allowed_key(string kind, bool allowed, bool refused)
    {
        var scope = kind switch
        {
            "registry" => new WebhookScope("registry"),
            "owner" => new WebhookScope("owner", KeyId: "k"),
            _ => new WebhookScope("package", "p"),
        };
        var error = WebhookDecider.RefusesDownloads(scope, [WebhookRules.DownloadedType], "k", allowed);
        Assert.Equal(refused ? "download-events-not-allowed" : null, error?.Code);
        Assert.Null(WebhookDecider.RefusesDownloads(scope, ["dev.marketplace.package.published"], "k", allowed));
    }
}
