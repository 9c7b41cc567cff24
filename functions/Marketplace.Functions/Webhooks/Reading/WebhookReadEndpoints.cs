using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Webhooks.Subscribing;
using Marketplace.Webhooks;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Webhooks.Reading;

public sealed record DeliveryView(
    Guid Id, string Type, long Sequence, string? Package, string State, IReadOnlyList<DeliveryAttempt> Attempts,
    DateTimeOffset? NextAttemptAt, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

/// <summary><c>next</c>: the <c>after</c> of the following page, null at the end.</summary>
public sealed record DeliveryLogView(Guid Id, IReadOnlyList<DeliveryView> Deliveries, long? Next);

/// <summary>
/// The subscription and its delivery log, for the receiver's owner only: <c>Authorization: Bearer</c> with the
/// subscription's secret (compared in constant time). A subscription id is public (it is in the audit feed); its
/// delivery log is not.
/// </summary>
public static class WebhookReadEndpoints
{
    public const int MaxLimit = 100;

    public static IEndpointRouteBuilder MapWebhookReads(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/webhooks/{id}", Get).WithName("GetWebhook")
            .WithSummary("A subscription (scope, URL, event types, status); authenticated by 'Authorization: Bearer <its secret>'. " +
                "The secret is never shown again.")
            .WithProblems(401, 404);
        app.MapGet("/v1/webhooks/{id}/deliveries", Deliveries).WithName("ListWebhookDeliveries")
            .WithSummary("The subscription's delivery log in log order (after = a log position, limit 1–100): " +
                "state, attempts with status and latency, next attempt.")
            .WithProblems(400, 401, 404);
        return app;
    }

    public static async Task<Results<Ok<WebhookView>, ProblemHttpResult>> Get(string id, HttpContext http, IDocumentStore store, CancellationToken ct)
    {
        var found = await AuthenticateAsync(id, http, store, ct);
        if (found.Error is { } error) return error.ToProblem();
        var (state, endpoint) = found.Value;
        return TypedResults.Ok(WebhookView.Of(state, endpoint.Url));
    }

    public static async Task<Results<Ok<DeliveryLogView>, ProblemHttpResult>> Deliveries(
        string id, string? after, string? limit, HttpContext http, IDocumentStore store, WebhookDeliveries log, CancellationToken ct)
    {
        var found = await AuthenticateAsync(id, http, store, ct);
        if (found.Error is { } error) return error.ToProblem();
        var from = 0L;
        if (after is not null && (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out from)))
            return DomainError.InvalidQuery("after is a log position: a non-negative integer.").ToProblem();
        var take = 50;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take is < 1 or > MaxLimit))
            return DomainError.InvalidQuery($"limit is 1 to {MaxLimit}.").ToProblem();

        var subscription = found.Value.State.SubscriptionId;
        var page = await log.LogAsync(subscription, from, take, ct);
        var deliveries = page
            .Select(d => new DeliveryView(d.Id, d.Type, d.Sequence, d.Package, d.State, d.Attempts, d.NextAttemptAt, d.CreatedAt, d.CompletedAt))
            .ToList();
        return TypedResults.Ok(new DeliveryLogView(subscription, deliveries, deliveries.Count == take ? deliveries[^1].Sequence : null));
    }

    private static async Task<Outcome<(WebhookState State, WebhookEndpoint Endpoint)>> AuthenticateAsync(
        string id, HttpContext http, IDocumentStore store, CancellationToken ct)
    {
        http.Response.Headers.CacheControl = "no-store";
        if (!Guid.TryParseExact(id, "D", out var subscription))
            return DomainError.NotFound($"No subscription {id}.");
        await using var session = store.QuerySession();
        var state = await session.LoadAsync<WebhookState>(WebhookStreams.KeyOf(subscription), ct);
        var endpoint = await session.LoadAsync<WebhookEndpoint>(subscription.ToString("D"), ct);
        if (state is null || state.IsRemoved || endpoint is null)
            return WebhookErrors.NotFound(subscription);
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        var given = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : "";
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(endpoint.Secret)))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"webhooks\"";
            return WebhookErrors.Unauthorized("Send 'Authorization: Bearer <the subscription's secret>' (the whsec_ value answered on create).");
        }
        return (state, endpoint);
    }
}
