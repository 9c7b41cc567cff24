using Marketplace.Functions.Protection;
using Microsoft.Extensions.Configuration;

namespace Marketplace.Tests.Protection;

public sealed class ProtectionOptionsTests
{
    private static ProtectionOptions From(params (string Key, string Value)[] settings) =>
        ProtectionOptions.From(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build());

    [Fact]
    public void the_local_profile_is_the_default_and_exempts_loopback()
    {
        var options = From();
        Assert.Equal(ProtectionOptions.Local, options.Profile);
        Assert.True(options.ExemptLoopback);
        Assert.False(options.TrustForwardedFor);
        Assert.Equal(1200, options.RateLimits.Publish.PerAddress);
        Assert.Equal(12000, options.RateLimits.Download.PerAddress);
    }

    [Fact]
    public void the_production_profile_is_strict_and_reads_the_forwarded_client()
    {
        var options = From(("Protection:Profile", "Production"));
        Assert.False(options.ExemptLoopback);
        Assert.True(options.TrustForwardedFor);
        Assert.Equal(120, options.RateLimits.Publish.PerAddress);
        Assert.Equal(60, options.RateLimits.Publish.PerKey);
        Assert.Equal(1200, options.RateLimits.Download.PerAddress);
        Assert.Equal(TimeSpan.FromMinutes(1), options.RateLimits.Yank.Window);
    }

    [Fact]
    public void single_keys_override_a_profile()
    {
        var options = From(("Protection:Profile", "production"), ("Protection:RateLimits:Publish:PerKey", "5"), ("Protection:RateLimits:Owners:Window", "00:10:00"));
        Assert.Equal(5, options.RateLimits.Publish.PerKey);
        Assert.Equal(120, options.RateLimits.Publish.PerAddress);
        Assert.Equal(TimeSpan.FromMinutes(10), options.RateLimits.Owners.Window);
    }

    [Theory]
    [InlineData("Protection:Profile", "staging")]
    [InlineData("Protection:RateLimits:Publish:PerAddress", "-1")]
    [InlineData("Protection:RateLimits:Yank:Window", "00:00:00.500")]
    [InlineData("Protection:RateLimits:Download:PerKey", "10")]
    public void a_bad_setting_fails_at_startup(string key, string value) =>
        Assert.Throws<InvalidOperationException>(() => From((key, value)));

    [Fact]
    public async Task a_window_starts_with_its_first_request_and_reports_the_time_left()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var limiter = new FixedWindowPartitions("p", 2, TimeSpan.FromSeconds(10), clock);
        using (var first = limiter.AttemptAcquire("a")) Assert.True(first.IsAcquired);
        clock.Advance(TimeSpan.FromSeconds(4));
        using (var second = limiter.AttemptAcquire("a"))
        {
            Assert.True(second.IsAcquired);
            Assert.Equal(new RateLimitState("p", 2, TimeSpan.FromSeconds(10), 0, TimeSpan.FromSeconds(6)), ((WindowLease)second).State);
        }
        using (var refused = await limiter.AcquireAsync("a"))
        {
            Assert.False(refused.IsAcquired);
            Assert.True(refused.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var retryAfter));
            Assert.Equal(TimeSpan.FromSeconds(6), retryAfter);
        }
        using (var other = limiter.AttemptAcquire("b")) Assert.True(other.IsAcquired);
        clock.Advance(TimeSpan.FromSeconds(6));
        using var renewed = limiter.AttemptAcquire("a");
        Assert.True(renewed.IsAcquired);
        Assert.Equal(1, ((WindowLease)renewed).State!.Remaining);
    }
}
