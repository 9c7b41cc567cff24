using Marketplace.Packages;
using Marketplace.Projections.Packages;
using Marten;
using Marten.Services;
using Microsoft.Extensions.Caching.Memory;

namespace Marketplace.Functions.Packages.Reading;

/// <summary>
/// Drops cached read answers as soon as they may have changed, so this instance never serves an answer older than what
/// it has committed: on a commit of its own with package events (a publish, yank, owner or trusted-publisher change:
/// the package's answer and the version's, which reads fold from the stream until the daemon catches up), and when its
/// daemon commits a new version of a document. <see cref="ReadOptions.CacheFor"/> only bounds how stale another
/// instance's cache can be.
/// </summary>
public sealed class ReadCacheInvalidation(IMemoryCache cache) : DocumentSessionListenerBase, IChangeListener
{
    public static string PackageKey(string name) => "package:" + name;
    public static string VersionKey(string id) => "version:" + id;

    public override Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
    {
        foreach (var document in commit.Updated.Concat(commit.Inserted))
        {
            switch (document)
            {
                case PackageDocument p: cache.Remove(PackageKey(p.Id)); break;
                case VersionDocument v: cache.Remove(VersionKey(v.Id)); break;
            }
        }
        foreach (var stream in commit.GetStreams())
        {
            foreach (var e in stream.Events)
            {
                if (e.Data is not IPackageEvent p) continue; // downloads and webhook events are not package events
                cache.Remove(PackageKey(p.Name));
                if (p is IVersionEvent v) cache.Remove(VersionKey(VersionDocument.IdOf(v.Name, v.VersionKey)));
            }
        }
        return Task.CompletedTask;
    }

    public Task BeforeCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token) => Task.CompletedTask;
}
