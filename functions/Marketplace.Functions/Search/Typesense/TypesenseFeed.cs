using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marketplace.Downloads;
using Marketplace.Packages;
using Marketplace.Projections;
using Marten;
using Marten.Subscriptions;
using Microsoft.Extensions.Options;

namespace Marketplace.Functions.Search.Typesense;

/// <summary>
/// Keeps the Typesense collection behind the alias in step with the event log: a Marten subscription run by the
/// async daemon (or the serverless catch-up), one page of events at a time. For a page it rebuilds the search
/// entry of every package the page touched — folding the package stream and reading its download total — and
/// imports them in one go (deletes for packages left with no visible version).
/// <para>
/// No event is ever skipped: Marten records the page's progress (row <see cref="ProgressionName"/> of
/// <c>mt_event_progression</c>) in the transaction it commits after <see cref="ProcessEventsAsync"/> returns, and
/// only then. Any failure here — rejected documents after every retry, Typesense unreachable, counters behind —
/// is thrown; the daemon then rolls the page back, pauses the subscription and runs it again from the last
/// recorded progress. Nothing is recorded as a dead letter and no exception is swallowed.
/// </para>
/// </summary>
public sealed class TypesenseFeed : SubscriptionBase
{
    public const string SubscriptionName = "TypesenseFeed";

    /// <summary>The shard Marten names <c>{name}:All</c> for a subscription of version 1.</summary>
    public const string ProgressionName = SubscriptionName + ":All";

    private readonly TypesenseIndexer _indexer;
    private readonly string _alias;
    private readonly ILogger<TypesenseFeed> _logger;

    public TypesenseFeed(TypesenseIndexer indexer, IOptions<TypesenseOptions> options, ILogger<TypesenseFeed> logger)
    {
        _indexer = indexer;
        _alias = options.Value.Collection;
        _logger = logger;
        Name = SubscriptionName;
        // Only what changes a search document: owners do not.
        IncludeType<PackagePublished>();
        IncludeType<VersionYanked>();
        IncludeType<VersionUnyanked>();
        IncludeType<Downloaded>();
    }

    public override async Task<IChangeListener> ProcessEventsAsync(EventRange page, ISubscriptionController controller,
        IDocumentOperations operations, CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        long lastDownload = 0;
        foreach (var e in page.Events)
        {
            switch (e.Data)
            {
                case IPackageEvent p:
                    names.Add(p.Name);
                    break;
                case Downloaded d:
                    names.Add(d.Name);
                    lastDownload = Math.Max(lastDownload, e.Sequence);
                    break;
            }
        }
        if (names.Count == 0) return NullChangeListener.Instance;

        try
        {
            if (lastDownload > 0) await _indexer.WaitForDownloadCountsAsync(operations, lastDownload, cancellationToken);
            var packages = await TypesenseIndexer.LoadAsync(operations, names, cancellationToken);
            await _indexer.WriteAsync(_alias, packages, cancellationToken);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // The daemon reads an OperationCanceledException as "stopping" and would neither pause nor retry.
            throw new TypesenseException(null, null,
                $"Typesense feed: a call for events {page.SequenceFloor}–{page.SequenceCeiling} was cancelled.", e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogError(e, "Typesense feed: events {Floor}–{Ceiling} ({Packages} package(s)) not indexed; the page will run again",
                page.SequenceFloor, page.SequenceCeiling, names.Count);
            throw;
        }
        ProjectionMetrics.Applied(SubscriptionName, page.Events);
        return NullChangeListener.Instance;
    }
}
