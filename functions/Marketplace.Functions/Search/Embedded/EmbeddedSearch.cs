using Marketplace.Projections.Search;
using Marketplace.Search;

namespace Marketplace.Functions.Search.Embedded;

/// <summary>
/// Search from this instance's in-memory <see cref="PackageIndex"/>, kept by <see cref="EmbeddedIndexFeed"/>: no
/// database round trip per query. Until the index is loaded the instance is not ready and searches answer 503.
/// </summary>
public sealed class EmbeddedSearch(PackageIndex index, EmbeddedIndexFeed feed) : IPackageSearch
{
    /// <summary>The projection the index tails; visibility is this instance's own (<see cref="AppliedSequence"/>).</summary>
    public string ProgressionName => SearchProjection.ProgressionName;

    public long? AppliedSequence => Math.Max(0, feed.Applied);

    public bool IsReady => feed.Loaded;

    public Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken ct) =>
        Task.FromResult(Loaded().Search(query));

    public Task<SuggestResult> SuggestAsync(SuggestQuery query, CancellationToken ct) =>
        Task.FromResult(Loaded().Suggest(query));

    private PackageIndex Loaded() =>
        feed.Loaded ? index : throw new SearchUnavailableException("The search index of this instance is still loading.");
}

public static class EmbeddedSearchServices
{
    public static IServiceCollection AddEmbeddedSearch(this IServiceCollection services)
    {
        services.AddSingleton<PackageIndex>();
        services.AddSingleton<EmbeddedIndexFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedIndexFeed>());
        return services.AddSingleton<IPackageSearch, EmbeddedSearch>();
    }
}
