using System.Diagnostics;
using Marketplace.Functions.Infrastructure;
using Marketplace.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Marketplace.Tests.Infrastructure;

/// <summary>
/// How the daemon's high-water agent is woken: another instance's commit reaches it through one NOTIFY sent after the
/// commit, and wakes closer together than the interval are folded into one.
/// </summary>
/// <summary>An instance without the daemon on a schema of its own (the lag scenarios count on a schema nobody else writes).</summary>
public sealed class NoDaemonWriterFixture() : MarketplaceFixture(HostProfile.Default with { Daemon = false });

[CollectionDefinition("no daemon writer")]
public sealed class NoDaemonWriterCollection : ICollectionFixture<NoDaemonWriterFixture>;

[Collection("no daemon writer")]
public sealed class AppendWakeupTests(NoDaemonWriterFixture fixture)
{
    [Fact]
    public async Task a_publish_on_an_instance_without_the_daemon_wakes_a_listening_daemon()
    {
        // A second wakeup on the fixture's schema stands for the instance that runs the daemon; the fixture's host
        // (no daemon, as an HTTP function or a HotCold follower would be) publishes.
        using var other = new AppendWakeup(fixture.Host.Services, fixture.Schema, NullLogger<AppendWakeup>.Instance)
        {
            MinimumInterval = TimeSpan.Zero,
        };
        // The first wait starts the listener, which wakes once for whatever committed before its LISTEN.
        await other.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);

        var clock = Stopwatch.StartNew();
        var woken = other.WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        await fixture.Host.PublishedPackage();
        await woken;

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"woken after {clock.Elapsed.TotalMilliseconds:0} ms, not by the publish");
    }

    [Fact]
    public async Task wakes_closer_together_than_the_interval_are_spaced_out()
    {
        using var wakeup = new AppendWakeup(fixture.Host.Services, "wakeup_" + Guid.NewGuid().ToString("n")[..8],
            NullLogger<AppendWakeup>.Instance) { MinimumInterval = TimeSpan.FromMilliseconds(400) };
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None); // the listener's first wake

        var clock = Stopwatch.StartNew();
        wakeup.Pulse();
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        var second = clock.Elapsed;

        Assert.True(second >= TimeSpan.FromMilliseconds(350), $"the second wake came {second.TotalMilliseconds:0} ms after the first");
        Assert.True(second < TimeSpan.FromSeconds(5), $"the second wake came {second.TotalMilliseconds:0} ms after the first");
    }

    [Fact]
    public async Task while_commits_come_fast_the_wakes_are_spaced_by_the_busy_interval_and_a_trickle_wakes_at_once()
    {
        using var wakeup = new AppendWakeup(fixture.Host.Services, "wakeup_" + Guid.NewGuid().ToString("n")[..8],
            NullLogger<AppendWakeup>.Instance)
        {
            MinimumInterval = TimeSpan.Zero,
            BusyInterval = TimeSpan.FromMilliseconds(400),
            BusyCommitRate = 100,
        };
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None); // the listener's first wake

        // A burst: a hundred commits, then the wake that takes them (no interval yet: nothing counted before it).
        for (var i = 0; i < 100; i++) wakeup.Pulse();
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(wakeup.CommitRate >= 100, $"{wakeup.CommitRate:0} commits/s counted for a burst of 100");

        // Busy: the next commit waits for the busy interval.
        var clock = Stopwatch.StartNew();
        wakeup.Pulse();
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        var busy = clock.Elapsed;
        Assert.True(busy >= TimeSpan.FromMilliseconds(350), $"a commit while busy woke the daemon after {busy.TotalMilliseconds:0} ms");

        // One commit in those 400 ms is a trickle: the next one wakes it at once.
        Assert.True(wakeup.CommitRate < 100, $"{wakeup.CommitRate:0} commits/s counted for one commit in 400 ms");
        clock.Restart();
        wakeup.Pulse();
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(200), $"a commit after a quiet spell woke the daemon after {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task a_package_commit_does_not_wait_out_the_busy_interval_that_other_commits_set()
    {
        // A long busy interval: this test host's timers can fire most of a second late, which must not read as a busy wait.
        using var wakeup = Busy(TimeSpan.FromSeconds(5));
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None); // the listener's first wake
        for (var i = 0; i < 1_000; i++) wakeup.Pulse(); // downloads' commits: busy
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);

        // A package commit alone wakes at once.
        var clock = Stopwatch.StartNew();
        wakeup.Pulse(packages: true);
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(2_500), $"a package commit while busy woke the daemon after {clock.Elapsed.TotalMilliseconds:0} ms");

        // One arriving during a busy wait cuts it short (a burst large enough to count as busy on a slow machine too).
        for (var i = 0; i < 1_000; i++) wakeup.Pulse();
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(wakeup.CommitRate >= 100, $"{wakeup.CommitRate:0} commits/s counted for a burst of 1,000");
        clock.Restart();
        wakeup.Pulse();
        var woken = wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        await Task.Delay(50);
        Assert.False(woken.IsCompleted, "a download commit while busy woke the daemon within 50 ms");
        wakeup.Pulse(packages: true);
        await woken;
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(2_500), $"a package commit during a busy wait woke the daemon after {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task package_commits_at_the_busy_rate_themselves_are_spaced_by_the_busy_interval()
    {
        using var wakeup = Busy(TimeSpan.FromMilliseconds(400));
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        for (var i = 0; i < 1_000; i++) wakeup.Pulse(packages: true); // a publish load
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(wakeup.PackageCommitRate >= 100, $"{wakeup.PackageCommitRate:0} package commits/s counted for a burst of 1,000");

        var clock = Stopwatch.StartNew();
        wakeup.Pulse(packages: true);
        await wakeup.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(350), $"a publish load's commit woke the daemon after {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task another_instances_publish_is_told_as_a_package_commit()
    {
        using var other = new AppendWakeup(fixture.Host.Services, fixture.Schema, NullLogger<AppendWakeup>.Instance)
        {
            MinimumInterval = TimeSpan.Zero,
            BusyInterval = TimeSpan.FromSeconds(5),
            BusyCommitRate = 100,
        };
        await other.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None); // the listener's first wake
        for (var i = 0; i < 1_000; i++) other.Pulse();
        await other.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None); // busy now
        Assert.True(other.CommitRate >= 100, $"{other.CommitRate:0} commits/s counted for a burst of 1,000");

        var clock = Stopwatch.StartNew();
        var woken = other.WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        await fixture.Host.PublishedPackage();
        await woken;
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"woken after {clock.Elapsed.TotalMilliseconds:0} ms: the busy interval, not the publish");
    }

    private AppendWakeup Busy(TimeSpan interval) =>
        new(fixture.Host.Services, "wakeup_" + Guid.NewGuid().ToString("n")[..8], NullLogger<AppendWakeup>.Instance)
        {
            MinimumInterval = TimeSpan.Zero,
            BusyInterval = interval,
            BusyCommitRate = 100,
        };
}
