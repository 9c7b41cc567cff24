using System.Data;
using System.Diagnostics;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Search;
using Marten;
using Npgsql;

namespace Marketplace.Functions.Search.Embedded;

/// <summary>
/// Keeps this instance's <see cref="PackageIndex"/> equal to the shared search documents that the <c>Search</c>
/// projection maintains in PostgreSQL — on every instance, whichever one runs the daemon. At start it loads every
/// document and the projection's sequence in one snapshot; then, woken by the projection's NOTIFY (or its own poll),
/// it reads the names the log changed between the sequence it has and the projection's, and those documents.
/// <see cref="Applied"/> is the sequence this index has applied: what <c>searchVisible</c> compares with. The download
/// totals it ranks by are the download counters' (<see cref="DownloadCountsProjection"/>, their own shard and NOTIFY
/// on the same channel), followed the same way with a second sequence: a package whose total changed is read again.
/// </summary>
public sealed class EmbeddedIndexFeed(IDocumentStore store, PackageIndex index, SearchOptions options, ILogger<EmbeddedIndexFeed> logger)
    : BackgroundService
{
    private readonly string _schema = store.Options.DatabaseSchemaName;
    private readonly string _events = store.Options.Events.DatabaseSchemaName;
    private readonly SemaphoreSlim _wake = new(0);
    private long _applied = -1;
    private long _downloadsApplied = -1;
    private bool _rebuilding;

    /// <summary>The event sequence this index has applied; -1 until it is loaded.</summary>
    public long Applied => Volatile.Read(ref _applied);

    public bool Loaded => Applied >= 0;

    /// <summary>How long the initial load took (read and index).</summary>
    public TimeSpan LoadTime { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ct = stoppingToken;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await LoadAsync(ct);
                break;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
            {
                logger.LogWarning(e, "The embedded search index could not load; retrying");
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
        _ = Task.Run(() => ListenAsync(ct), ct);
        while (!ct.IsCancellationRequested)
        {
            await _wake.WaitAsync(options.EmbeddedPollInterval, ct);
            while (_wake.CurrentCount > 0) await _wake.WaitAsync(0, ct);
            try
            {
                await CatchUpAsync(ct);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
            {
                logger.LogWarning(e, "The embedded search index could not catch up; retrying");
            }
        }
    }

    /// <summary>Every search document and the projection's sequence, read in one snapshot.</summary>
    private async Task LoadAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        await using var connection = await OpenAsync(ct);
        await using var snapshot = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        var (sequence, downloads) = await ProgressAsync(connection, ct);
        // Indexing a chunk overlaps reading the next: the load takes about the longer of the two, not their sum.
        var indexed = Task.CompletedTask;
        await RowsAsync(connection, "s.visible", null, ct, chunk =>
        {
            var previous = indexed;
            indexed = Task.Run(async () =>
            {
                await previous;
                index.Apply(chunk);
            }, ct);
        });
        await snapshot.CommitAsync(ct);
        await indexed;
        LoadTime = clock.Elapsed;
        _downloadsApplied = downloads;
        Volatile.Write(ref _applied, sequence);
        logger.LogInformation(
            "Embedded search index: {Packages} packages at sequence {Sequence} loaded in {Milliseconds} ms " +
            "({IndexBytes} bytes of vocabularies and postings)",
            index.VisibleCount, sequence, (long)LoadTime.TotalMilliseconds, index.IndexBytes());
    }

    /// <summary>Applies what the projection has applied since this index last looked.</summary>
    public async Task CatchUpAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var (sequence, downloads) = await ProgressAsync(connection, ct);
        var applied = Applied;
        var downloadsApplied = _downloadsApplied;
        if (sequence < applied || downloads < downloadsApplied)
        {
            // A projection is being rebuilt (its progress starts again from 0): keep answering from this index
            // and reload everything once the rebuild has passed where this index was.
            _rebuilding = true;
            return;
        }
        if (sequence == applied && downloads == downloadsApplied) return;
        List<IndexedPackage> rows;
        if (_rebuilding)
        {
            rows = await RowsAsync(connection, "true", null, ct);
            _rebuilding = false;
        }
        else
        {
            var names = new List<string>();
            await using (var changed = new NpgsqlCommand(
                $"select distinct data->>'Name' from {_events}.mt_events where data ? 'Name' " +
                "and (seq_id > $1 and seq_id <= $2 or seq_id > $3 and seq_id <= $4)", connection))
            {
                changed.Parameters.AddWithValue(applied);
                changed.Parameters.AddWithValue(sequence);
                changed.Parameters.AddWithValue(downloadsApplied);
                changed.Parameters.AddWithValue(downloads);
                await using var reader = await changed.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct)) names.Add(reader.GetString(0));
            }
            // Read after the sequences: each document and total is at least as new as them, so everything up to them is applied.
            rows = names.Count == 0 ? [] : await RowsAsync(connection, "s.name = any($1)", names.ToArray(), ct);
        }
        index.Apply(rows);
        _downloadsApplied = downloads;
        Volatile.Write(ref _applied, sequence);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        var connection = (NpgsqlConnection)store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        return connection;
    }

    /// <summary>How far search and the download counters have applied the log.</summary>
    private async Task<(long Search, long Downloads)> ProgressAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"select coalesce((select last_seq_id from {_events}.mt_event_progression where name = $1), 0), " +
            $"coalesce((select last_seq_id from {_events}.mt_event_progression where name = $2), 0)", connection);
        command.Parameters.AddWithValue(SearchProjection.ProgressionName);
        command.Parameters.AddWithValue(DownloadCountsProjection.ProgressionName);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private async Task<List<IndexedPackage>> RowsAsync(NpgsqlConnection connection, string where, string[]? names, CancellationToken ct,
        Action<List<IndexedPackage>>? chunks = null)
    {
        const int ChunkSize = 8_192;
        await using var command = new NpgsqlCommand(
            "select s.name, s.version, s.description, s.keywords, s.categories, s.authors, s.license, s.updated_at, s.visible, " +
            "coalesce(d.downloads, 0) " +
            $"from {SearchProjection.TableIn(_schema)} s left join {DownloadCountsProjection.TotalsTableIn(_schema)} d on d.name = s.name " +
            $"where {where}", connection);
        if (names is not null) command.Parameters.AddWithValue(names);
        var rows = new List<IndexedPackage>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new IndexedPackage(
                reader.GetString(0), reader.IsDBNull(1) ? "" : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetFieldValue<string[]>(3), reader.GetFieldValue<string[]>(4), reader.GetFieldValue<string[]>(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? default : reader.GetFieldValue<DateTimeOffset>(7), reader.GetBoolean(8), reader.GetInt64(9)));
            if (chunks is not null && rows.Count == ChunkSize)
            {
                chunks(rows);
                rows = new List<IndexedPackage>(ChunkSize);
            }
        }
        if (chunks is not null && rows.Count > 0) chunks(rows);
        return chunks is null ? rows : [];
    }

    /// <summary>LISTENs on the projection's channel: a batch committed wakes the catch-up at once. Polling covers any gap.</summary>
    private async Task ListenAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await OpenAsync(ct);
                connection.Notification += (_, _) => _wake.Release();
                await using (var listen = new NpgsqlCommand($"listen \"{SearchProjection.NotifyChannel(_schema)}\"", connection))
                    await listen.ExecuteNonQueryAsync(ct);
                _wake.Release(); // anything committed before LISTEN took effect
                while (!ct.IsCancellationRequested) await connection.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
            {
                logger.LogWarning(e, "The embedded search index lost its notification connection; polling until it is back");
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
