namespace Marketplace.Functions.Search.Typesense;

/// <summary>
/// Typesense refused a call (<see cref="StatusCode"/> and Typesense's own <see cref="TypesenseMessage"/>), or could
/// not be reached at all (no status).
/// </summary>
public sealed class TypesenseException : SearchUnavailableException
{
    public TypesenseException()
    {
    }

    public TypesenseException(string message) : base(message)
    {
    }

    public TypesenseException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public TypesenseException(int? statusCode, string? typesenseMessage, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        TypesenseMessage = typesenseMessage;
    }

    /// <summary>The HTTP status Typesense answered; null when no answer came (refused connection, timeout).</summary>
    public int? StatusCode { get; }

    /// <summary>The <c>message</c> of Typesense's error body.</summary>
    public string? TypesenseMessage { get; }

    /// <summary>Worth trying again later: no answer, 408, 429 or a 5xx.</summary>
    public bool IsTransient => StatusCode is null or 408 or 429 or >= 500;
}

/// <summary>Documents an import kept rejecting (<c>success:false</c> lines) after every retry.</summary>
public sealed class TypesenseImportException : Exception
{
    public TypesenseImportException()
    {
    }

    public TypesenseImportException(string message) : base(message)
    {
    }

    public TypesenseImportException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public TypesenseImportException(string collection, IReadOnlyList<(string Id, string? Error)> rejected)
        : base($"Typesense rejected {rejected.Count} document(s) imported into {collection}: " +
               string.Join("; ", rejected.Take(10).Select(r => $"{r.Id}: {r.Error}")))
    {
        Rejected = rejected;
    }

    public IReadOnlyList<(string Id, string? Error)> Rejected { get; } = [];
}
