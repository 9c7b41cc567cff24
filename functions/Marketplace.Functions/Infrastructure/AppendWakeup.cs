using JasperFx.Events.Daemon.HighWater;
using Marten;
using Marten.Services;
using Npgsql;

namespace Marketplace.Functions.Infrastructure;

/// <summary>
/// Wakes the async daemon's high-water agent when events commit, so a publish is projected at once rather than at the
/// next poll. Marten's own LISTEN/NOTIFY wake puts a NOTIFY inside every appending transaction, and PostgreSQL
/// serialises the commits of notifying transactions on one lock held through the WAL flush: concurrent publishers then
/// commit one at a time instead of sharing flushes. Here a session that committed events wakes this instance's daemon
/// in memory, and the other instances (whichever one leads the daemon) hear one NOTIFY sent after the commit in a
/// transaction of its own, which writes no WAL; while one is on its way, later commits are folded into the next. The
/// daemon's polling stays as the fallback for a lost notification.
/// <para>
/// Wakes are spaced out while commits come fast (<see cref="BusyInterval"/>), except for a commit of package events
/// (a publish, a yank, an owner change): what a person waits to see in search. Under a download load a publish then
/// wakes the daemon after <see cref="PackageInterval"/> instead of waiting out the busy interval that the downloads'
/// commits set; only package commits coming at <see cref="BusyCommitRate"/> themselves (a publish load) keep it.
/// </para>
/// </summary>
public sealed class AppendWakeup(IServiceProvider services, string schema, ILogger<AppendWakeup> logger)
    : DocumentSessionListenerBase, IDaemonWakeup
{
    // Never disposed: without its wait handle a SemaphoreSlim holds nothing, and a late commit may still pulse it.
    private readonly SemaphoreSlim _signal = new(0, 1);
    // Released by a package commit while a busy wait is on: it cuts the wait to the package interval.
    private readonly SemaphoreSlim _urgent = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task? _listener;
    private bool _sending;
    private bool _pending;
    private bool _pendingPackages;
    /// <summary>The NOTIFY payload that says the commits it tells of hold package events.</summary>
    private const string PackagesPayload = "p";

    /// <summary>The channel the instances of one registry (one schema) NOTIFY and LISTEN on; short whatever the schema's name.</summary>
    public string Channel { get; } = "mkt_appended_" + EventStore.DaemonLockIdOf(schema).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Whether a commit here is told to other instances. Not where this process is the <c>Solo</c> daemon, the only one
    /// on the schema: the in-memory wake is all it needs, and a publish pays no NOTIFY.
    /// </summary>
    public bool NotifiesOthers { get; init; } = true;

    public override Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
    {
        bool appended = false, packages = false;
        foreach (var stream in commit.GetStreams())
        {
            appended = true;
            // A download commit's one stream holds only downloads; a package stream's events are package events.
            packages |= stream.Events.Count > 0 && stream.Events[0].Data is Marketplace.Packages.IPackageEvent;
        }
        if (appended)
        {
            Pulse(packages);
            if (NotifiesOthers) NotifyOthers(packages);
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Wakes this instance's high-water agent; sticky, so a commit between two waits wakes the next one.
    /// <paramref name="packages"/>: the commit holds package events (see the class remarks).
    /// </summary>
    public void Pulse(bool packages = false)
    {
        Interlocked.Increment(ref _commits);
        if (packages)
        {
            Interlocked.Increment(ref _packageCommits);
            Release(_urgent);
        }
        Release(_signal);
    }

    private static void Release(SemaphoreSlim semaphore)
    {
        try
        {
            if (semaphore.CurrentCount == 0) semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // another commit signalled it first
        }
    }

    /// <summary>
    /// The shortest time between two wakes of the high-water agent. Each wake is a round of work for every projection
    /// shard (load the new events, apply, commit the progress), whatever the number of events: woken by every commit,
    /// 50 publishes a second kept the daemon busy with one-event batches and it fell seconds behind. Commits closer
    /// together than this share a round; one after a quiet spell wakes it at once.
    /// </summary>
    public TimeSpan MinimumInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The time between two wakes while commits come at <see cref="BusyCommitRate"/> or faster (counted between the last
    /// two wakes). A round costs about the same for one event as for fifty, so under a write load fewer, larger rounds
    /// leave the cores to the writers: publish at 16 went from 186–237 to 322–342 a second with 200 ms between wakes
    /// instead of 50. A trickle of commits keeps the short interval and its short lag.
    /// </summary>
    public TimeSpan BusyInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The shortest time over which commits are counted into a rate (wakes closer together count as this far apart).</summary>
    private static readonly TimeSpan ShortestCycle = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The time between two wakes when a commit of package events waits while the daemon is busy with other commits
    /// (between <see cref="MinimumInterval"/> and <see cref="BusyInterval"/>): each such wake is a round for every shard.
    /// </summary>
    public TimeSpan PackageInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Commits a second (between the last two wakes) from which <see cref="BusyInterval"/> applies.</summary>
    public double BusyCommitRate { get; init; } = 150;

    private long _lastWake;
    private long _commits;
    // Package commits since the last wake: one or more is a package commit waiting.
    private long _packageCommits;
    private double _rate;
    private double _packageRate;

    /// <summary>Commits a second between the last two wakes.</summary>
    public double CommitRate => Volatile.Read(ref _rate);

    /// <summary>Commits of package events a second between the last two wakes.</summary>
    public double PackageCommitRate => Volatile.Read(ref _packageRate);

    /// <summary>The time to leave between the last wake and the next one, given what is waiting.</summary>
    private TimeSpan Interval() =>
        CommitRate < BusyCommitRate ? MinimumInterval
        : Interlocked.Read(ref _packageCommits) > 0 && PackageCommitRate < BusyCommitRate ? PackageInterval
        : BusyInterval;

    public async Task WaitAsync(TimeSpan timeout, CancellationToken token)
    {
        // The daemon runs here: hear the other instances' commits too.
        if (_listener is null)
            lock (_gate) _listener ??= Task.Run(() => ListenAsync(_stop.Token), CancellationToken.None);
        var last = Interlocked.Read(ref _lastWake);
        if (await _signal.WaitAsync(timeout, token))
        {
            // Wait out the interval; a package commit arriving meanwhile may shorten it (then look again).
            while (Interval() - System.Diagnostics.Stopwatch.GetElapsedTime(last) is var left && left > TimeSpan.Zero)
                if (!await _urgent.WaitAsync(left, token)) break;
        }
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        // Counted over at least ShortestCycle: one commit a millisecond after a wake is not a rate of a thousand a second.
        var cycle = last == 0 ? 0 : Math.Max(System.Diagnostics.Stopwatch.GetElapsedTime(last, now).TotalSeconds, ShortestCycle.TotalSeconds);
        var commits = Interlocked.Exchange(ref _commits, 0);
        var packageCommits = Interlocked.Exchange(ref _packageCommits, 0);
        // What the wake takes needs no hurry any more; a package commit after the exchange counts and releases again.
        if (_urgent.CurrentCount > 0) await _urgent.WaitAsync(0, token);
        Volatile.Write(ref _rate, cycle > 0 ? commits / cycle : 0);
        Volatile.Write(ref _packageRate, cycle > 0 ? packageCommits / cycle : 0);
        Interlocked.Exchange(ref _lastWake, now);
    }

    /// <summary>One NOTIFY in flight at a time; commits while it is out are told by the next one.</summary>
    private void NotifyOthers(bool packages)
    {
        lock (_gate)
        {
            _pendingPackages |= packages;
            if (_sending)
            {
                _pending = true;
                return;
            }
            _sending = true;
        }
        _ = Task.Run(SendAsync);
    }

    private async Task SendAsync()
    {
        while (true)
        {
            string payload;
            lock (_gate)
            {
                payload = _pendingPackages ? PackagesPayload : "";
                _pendingPackages = false;
            }
            try
            {
                await using var connection = (NpgsqlConnection)services.GetRequiredService<IDocumentStore>().Storage.Database.CreateConnection();
                await connection.OpenAsync(_stop.Token);
                await using var notify = new NpgsqlCommand("select pg_notify($1, $2)", connection)
                {
                    Parameters = { new() { Value = Channel }, new() { Value = payload } },
                };
                await notify.ExecuteNonQueryAsync(_stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or InvalidOperationException)
            {
                // The other instances poll; nothing is lost with a notification.
                logger.LogDebug(e, "Could not notify other instances of appended events; they will see them at their next poll");
            }
            lock (_gate)
            {
                if (!_pending)
                {
                    _sending = false;
                    return;
                }
                _pending = false;
            }
        }
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = (NpgsqlConnection)services.GetRequiredService<IDocumentStore>().Storage.Database.CreateConnection();
                await connection.OpenAsync(ct);
                connection.Notification += (_, e) => Pulse(e.Payload == PackagesPayload);
                await using (var listen = new NpgsqlCommand($"listen \"{Channel}\"", connection))
                    await listen.ExecuteNonQueryAsync(ct);
                Pulse(); // anything committed before LISTEN took effect
                while (!ct.IsCancellationRequested) await connection.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
            {
                logger.LogWarning(e, "The daemon's append notifications stopped; polling until they are back");
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Stops the listener (its connection closes as it ends); a NOTIFY on its way is cancelled.</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
    }
}
