using System.Net.Http.Headers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Marketplace.Webhooks;

namespace Marketplace.UnitTests.Webhooks;

public sealed class RetryScheduleTests
{
    private static readonly RetrySchedule Schedule = new([TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30)], 0.2, TimeSpan.FromHours(1));

    [Property]
    public Property every_wait_stays_inside_its_jitter_band(PositiveInt failures, NormalFloat unit)
    {
        var n = (failures.Get - 1) % Schedule.Delays.Count + 1;
        var u = Math.Abs(unit.Get) % 1.0;
        var wait = Schedule.DelayAfter(n, u)!.Value;
        var baseDelay = Schedule.Delays[n - 1];
        return (wait >= baseDelay * 0.8 && wait <= baseDelay * 1.2).Label($"{wait} for {baseDelay}");
    }

    [Fact]
    public void the_band_is_reached_at_both_ends_and_the_middle_is_the_schedule()
    {
        Assert.Equal(TimeSpan.FromSeconds(4), Schedule.DelayAfter(1, 0));
        Assert.Equal(TimeSpan.FromSeconds(5), Schedule.DelayAfter(1, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(6), Schedule.DelayAfter(1, 1));
        Assert.Equal(TimeSpan.FromMinutes(30), Schedule.DelayAfter(3, 0.5));
    }

    [Fact]
    public void the_waits_grow_and_after_the_last_one_the_delivery_is_dead()
    {
        var standard = RetrySchedule.Standard;
        Assert.Equal(10, standard.MaxAttempts);
        for (var i = 1; i < standard.Delays.Count; i++)
            Assert.True(standard.Delays[i] > standard.Delays[i - 1]);
        Assert.Equal(TimeSpan.FromHours(75) + TimeSpan.FromMinutes(35) + TimeSpan.FromSeconds(5), standard.Delays.Aggregate(TimeSpan.Zero, (a, b) => a + b));
        Assert.Null(Schedule.DelayAfter(4, 0.5));
        Assert.Null(Schedule.DelayAfter(0, 0.5));
    }

    [Fact]
    public void retry_after_in_seconds_or_as_a_date_is_read_and_capped()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(7), Schedule.RetryAfter(RetryConditionHeaderValue.Parse("7"), now));
        Assert.Equal(TimeSpan.FromSeconds(90), Schedule.RetryAfter(RetryConditionHeaderValue.Parse("Thu, 01 Jan 2026 12:01:30 GMT"), now));
        Assert.Equal(TimeSpan.Zero, Schedule.RetryAfter(RetryConditionHeaderValue.Parse("Thu, 01 Jan 2026 11:00:00 GMT"), now));
        Assert.Equal(TimeSpan.FromHours(1), Schedule.RetryAfter(RetryConditionHeaderValue.Parse("86400"), now));
        Assert.Null(Schedule.RetryAfter(null, now));
    }

    [Fact]
    public void schedules_are_read_from_comma_separated_timespans()
    {
        Assert.Equal([TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2)], RetrySchedule.ParseDelays("00:00:00.050, 00:00:02"));
        Assert.Null(RetrySchedule.ParseDelays("00:00:05,soon"));
        Assert.Null(RetrySchedule.ParseDelays("00:00:00"));
    }
}
