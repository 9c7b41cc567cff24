using Marketplace.Projections.Packages;
using Marten;
using Marten.Services;
using Microsoft.Extensions.Caching.Memory;

namespace Marketplace.Functions.Packages.Reading;

/// <summary>
/// Drops a cached read model as soon as the in-process daemon commits a new version of it, so this instance never
/// serves an answer older than its own read models; <see cref="ReadOptions.CacheFor"/> only bounds how stale
/// another instance's cache can be.
/// </summary>
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

    public Task BeforeCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token) => Task.CompletedTask;
}
