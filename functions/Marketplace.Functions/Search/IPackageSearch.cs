using Marketplace.Search;

namespace Marketplace.Functions.Search;

/// <summary>
/// The search port behind <c>GET /v1/search</c>: PostgreSQL full-text search (the local default) or Typesense,
/// picked by configuration (<see cref="SearchOptions"/>). Both are fed from the event log.
/// </summary>
public interface IPackageSearch
{
    Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken ct);

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

public enum SearchAdapter { Postgres, Typesense }

public sealed class SearchOptions
{
    /// <summary><c>Postgres</c> or <c>Typesense</c>; unset = Typesense when <c>Typesense:Url</c> is set, else PostgreSQL.</summary>
    public SearchAdapter? Adapter { get; set; }

    public SearchAdapter Resolve(IConfiguration configuration) =>
        Adapter ?? (string.IsNullOrWhiteSpace(configuration["Typesense:Url"]) ? SearchAdapter.Postgres : SearchAdapter.Typesense);

    /// <summary>The <c>Search</c> section and the adapter it picks: one reading for the services and the store.</summary>
    public static (SearchOptions Options, SearchAdapter Adapter) From(IConfiguration configuration)
    {
        var options = configuration.GetSection("Search").Get<SearchOptions>() ?? new SearchOptions();
        return (options, options.Resolve(configuration));
    }
}
