using Marketplace.Functions.Observability;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Marketplace.Functions.Infrastructure;

/// <summary>The one place where domain errors become RFC 9457 problem+json.</summary>
public static class Problems
{
    public const string TypePrefix = "urn:marketplace:problem:";

    public static ProblemHttpResult ToProblem(this DomainError error)
    {
        MarketplaceMetrics.Rejected(error.Code);
        return TypedResults.Problem(new ProblemDetails
        {
            Type = TypePrefix + error.Code,
            Title = error.Title,
            Status = error.Status,
            Detail = error.Detail,
            Extensions = { ["code"] = error.Code },
        });
    }

    /// <summary>Documents the problem answers a route can give, for OpenAPI.</summary>
    public static RouteHandlerBuilder WithProblems(this RouteHandlerBuilder route, params int[] statuses)
    {
        foreach (var status in statuses)
            route.ProducesProblem(status);
        return route;
    }

    /// <summary>Seconds a client is asked to wait after a <c>503 unavailable</c> (a database failover takes about this long).</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary>
    /// Whether an exception means PostgreSQL (or the network to it) is down rather than a bug: Marten wraps
    /// <see cref="NpgsqlException"/> in its own exceptions, so the whole inner chain is walked. Server errors count
    /// only when their SQLSTATE says so (connection exceptions 08, insufficient resources 53, shutdown and
    /// "cannot connect now" 57P0x): a unique violation stays a 500, it is a bug.
    /// </summary>
    public static bool IsOutage(Exception exception)
    {
        var depth = 0;
        for (Exception? e = exception; e is not null && depth < 16; e = e.InnerException, depth++)
        {
            switch (e)
            {
                case PostgresException pg:
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("53", StringComparison.Ordinal)
                        || pg.SqlState.StartsWith("57P0", StringComparison.Ordinal);
                case NpgsqlException:
                case SocketException:
                    return true;
                case AggregateException aggregate when aggregate.InnerExceptions.Any(IsOutage):
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The status an unhandled exception answers: 503 for an outage, the client's fault for Kestrel's bad-request
    /// exceptions (a malformed chunked body 400, a body too slow 408, too large 413), 500 otherwise.
    /// </summary>
    public static int StatusOf(Exception exception)
    {
        if (IsOutage(exception)) return StatusCodes.Status503ServiceUnavailable;
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException bad) return bad.StatusCode;
        }
        return StatusCodes.Status500InternalServerError;
    }

    /// <summary>Gives every framework-made problem (404 route, 405, 500) a stable code too.</summary>
    public static IServiceCollection AddMarketplaceProblems(this IServiceCollection services)
    {
        services.Configure<ExceptionHandlerOptions>(o => o.StatusCodeSelector = StatusOf);
        return services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            var p = ctx.ProblemDetails;
            if (p.Status == StatusCodes.Status503ServiceUnavailable && !ctx.HttpContext.Response.HasStarted)
                ctx.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (p.Extensions.ContainsKey("code")) return;
            var code = p.Status switch
            {
                400 => "invalid-request",
                404 => "not-found",
                405 => "method-not-allowed",
                408 => "request-timeout",
                413 => "too-large",
                414 => "uri-too-long",
                415 => "unsupported-media-type",
                431 => "headers-too-large",
                429 => "rate-limited",
                503 => "unavailable",
                504 => "timeout",
                _ => "internal-error",
            };
            p.Extensions["code"] = code;
            p.Type = TypePrefix + code;
            MarketplaceMetrics.Rejected(code);
            // Never leak exception text to clients; the correlation id in the log finds it.
            if (p.Status == 503) p.Detail = "A dependency (the database) is unavailable; retry after the Retry-After seconds.";
            else if (p.Status >= 500) p.Detail = "The request failed; retry later or report the correlation id.";
            else if (ctx.Exception is not null) p.Detail = "The request could not be read (malformed, truncated or too slow).";
            p.Extensions.Remove("exception");
        });
    }
}
