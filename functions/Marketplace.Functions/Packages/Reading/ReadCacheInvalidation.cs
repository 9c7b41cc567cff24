using Marketplace.Packages;
using Marketplace.Projections.Packages;
using Marten;
using Marten.Services;
using Microsoft.Extensions.Caching.Memory;

namespace Marketplace.Functions.Packages.Reading;

/// <summary>
/// Drops cached read answers as soon as they may have changed, so this instance never serves an answer older than what
/// it has committed: after a package command of its own commits (a publish, yank, owner or trusted-publisher change:
/// the package's answer and the version's, which reads fold from the stream until the daemon catches up;
/// <see cref="PackageCommands"/> calls <see cref="Evict"/>), and when its daemon commits a new version of a document.
/// <see cref="ReadOptions.CacheFor"/> only bounds how stale another instance's cache can be.
/// </summary>
/// <remarks>
/// Not a Marten session listener: that runs on every session (downloads' group commits included) for work only package
/// commands need. Registered as one, publish at 16 measured a median of 0.92× the commit before over 16 interleaved
/// rounds — within this host's noise (two builds of one commit gave 0.97–1.28× per round), so not established either way.
/// </remarks>
public sealed class ReadCacheInvalidation(IMemoryCache cache) : IChangeListener
{
    public static string PackageKey(string name) => "package:" + name;
    public static string VersionKey(string id) => "version:" + id;

    public Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
    {
        foreach (var document in commit.Updated.Concat(commit.Inserted))
        {
            switch (document)
            {
                case PackageDocument p: cache.Remove(PackageKey(p.Id)); break;
                case VersionDocument v: cache.Remove(VersionKey(v.Id)); break;
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>Drops the answers the committed <paramref name="events"/> change.</summary>
    public void Evict(IEnumerable<object> events)
    {
        foreach (var e in events)
        {
            if (e is not IPackageEvent p) continue;
            cache.Remove(PackageKey(p.Name));
            if (p is IVersionEvent v) cache.Remove(VersionKey(VersionDocument.IdOf(v.Name, v.VersionKey)));
        }
    }

    public Task BeforeCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token) => Task.CompletedTask;
}
