using Marketplace.Functions.Observability;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

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

    /// <summary>Gives every framework-made problem (404 route, 405, 500) a stable code too.</summary>
    public static IServiceCollection AddMarketplaceProblems(this IServiceCollection services) =>
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            var p = ctx.ProblemDetails;
            if (p.Extensions.ContainsKey("code")) return;
            var code = p.Status switch
            {
                400 => "invalid-request",
                404 => "not-found",
                405 => "method-not-allowed",
                413 => "too-large",
                415 => "unsupported-media-type",
                429 => "rate-limited",
                503 => "unavailable",
                504 => "timeout",
                _ => "internal-error",
            };
            p.Extensions["code"] = code;
            p.Type = TypePrefix + code;
            MarketplaceMetrics.Rejected(code);
            // Never leak exception text to clients; the correlation id in the log finds it.
            if (p.Status >= 500) p.Detail = "The request failed; retry later or report the correlation id.";
            p.Extensions.Remove("exception");
        });
}
