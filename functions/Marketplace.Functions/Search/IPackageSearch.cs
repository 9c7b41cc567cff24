using Marketplace.Search;

namespace Marketplace.Functions.Search;

/// <summary>
/// The search port behind <c>GET /v1/search</c> and <c>GET /v1/search/suggest</c>: the embedded index of each
/// instance (the default of a long-running instance), Typesense, or PostgreSQL full-text search, picked by
/// configuration (<see cref="SearchOptions"/>). All are fed from the event log.
/// </summary>
public interface IPackageSearch
{
    Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken ct);

    /// <summary>Up to <see cref="SuggestQuery.Size"/> visible packages whose name starts with the prefix: the exact name first, then the
    /// most downloaded.</summary>
    Task<SuggestResult> SuggestAsync(SuggestQuery query, CancellationToken ct);

    /// <summary>
    /// How far into the event log an index kept by this instance has applied, when the index is per instance (the
    /// embedded one); null when the index is shared and its progress is the row <see cref="ProgressionName"/>.
    /// </summary>
    long? AppliedSequence => null;

    /// <summary>Whether the index can answer (an embedded index is not until it is loaded): <c>/health/ready</c> says so.</summary>
    bool IsReady => true;

    /// <summary>
    /// The name of the event progression (row of Marten's <c>mt_event_progression</c>) whose sequence says how far
    /// into the event log this index has applied: an event at or below it is visible in search.
    /// </summary>
    string ProgressionName { get; }
}

/// <summary>
/// The search index cannot answer (down, overloaded, refused the call): the endpoint answers 503 <c>unavailable</c>.
/// Adapters throw their own subclasses; the endpoint knows only this one.
/// </summary>
public class SearchUnavailableException : Exception
{
    public SearchUnavailableException()
    {
    }

    public SearchUnavailableException(string message) : base(message)
    {
    }

    public SearchUnavailableException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}

public enum SearchAdapter { Postgres, Typesense, Embedded }

public sealed class SearchOptions
{
    /// <summary>
    /// <c>Embedded</c>, <c>Typesense</c> or <c>Postgres</c>; unset = Typesense when <c>Typesense:Url</c> is set, else
    /// PostgreSQL on a function host (<c>Marten:Daemon</c> = <c>Disabled</c>: an instance that may live for one
    /// request should not load an index), else the embedded index (a long-running instance).
    /// </summary>
    public SearchAdapter? Adapter { get; set; }

    /// <summary>How often the embedded index looks at the search projection's progress when no notification came.</summary>
    public TimeSpan EmbeddedPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    public SearchAdapter Resolve(IConfiguration configuration, Infrastructure.StoreSettings store) =>
        Adapter ?? (!string.IsNullOrWhiteSpace(configuration["Typesense:Url"]) ? SearchAdapter.Typesense
            : !store.DaemonInProcess ? SearchAdapter.Postgres
            : SearchAdapter.Embedded);

    /// <summary>The <c>Search</c> section and the adapter it picks: one reading for the services and the store.</summary>
    public static (SearchOptions Options, SearchAdapter Adapter) From(IConfiguration configuration, Infrastructure.StoreSettings store)
    {
        var options = configuration.GetSection("Search").Get<SearchOptions>() ?? new SearchOptions();
        return (options, options.Resolve(configuration, store));
    }
}
