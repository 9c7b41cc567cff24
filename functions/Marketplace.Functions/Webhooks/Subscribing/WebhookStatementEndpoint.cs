using Marketplace.Functions.Events;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Packages;
using Marketplace.Functions.Protection;
using Marketplace.Signing;
using Marketplace.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Webhooks.Subscribing;

public static class WebhookStatementEndpoint
{
    public static IEndpointRouteBuilder MapSubscribing(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/webhooks", Handle).WithName("ChangeWebhook")
            .WithSummary("Creates, updates, removes or redelivers a webhook subscription by a signed statement " +
                "(application/vnd.marketplace.webhook.v1+json); a create answers the secret, once.")
            .Accepts<SignedRequest>("application/json")
            .WithProblems(400, 403, 404, 409, 413, 415, 429)
            .RateLimited(RateLimitedOperation.Owners);
        return app;
    }

    public static async Task<Results<Created<WebhookCreatedView>, Ok<WebhookView>, Ok<RedeliveryView>, ProblemHttpResult>> Handle(
        [AsParameters] SignedInput input, WebhookCommands commands, WebhookOptions options, CancellationToken ct)
    {
        // Webhook statements share the owners quota: both are management statements of an owner key.
        var read = await SignedStatements.ReadAsync<WebhookStatement>(input, PayloadTypes.Webhook, RateLimitedOperation.Owners, ct);
        if (!read.TryGet(out var verified, out var readError)) return readError.ToProblem();
        var (statement, signer, _, statementId) = verified;

        var known = RegistryCloudEvents.Types.ToHashSet(StringComparer.Ordinal);
        var request = WebhookRules.Validate(statement, known, options.AllowPrivateNetworks, options.MaxUrlLength);
        if (!request.TryGet(out var r, out var invalid)) return invalid.ToProblem();
        input.Http.Response.Headers.CacheControl = "no-store";
        switch (r.Action)
        {
            case WebhookStatement.Create:
                var created = await commands.CreateAsync(r, signer, statementId, input.Http.Id(), ct);
                if (!created.TryGet(out var createdView, out var e1)) return e1.ToProblem();
                return TypedResults.Created($"/v1/webhooks/{createdView.Id:D}", createdView);
            case WebhookStatement.Redeliver:
                var requeued = await commands.RedeliverAsync(r, signer, statementId, input.Http.Id(), ct);
                if (!requeued.TryGet(out var redelivery, out var e2)) return e2.ToProblem();
                return TypedResults.Ok(redelivery);
            default:
                var changed = r.Action == WebhookStatement.Update
                    ? await commands.UpdateAsync(r, signer, statementId, input.Http.Id(), ct)
                    : await commands.RemoveAsync(r, signer, statementId, input.Http.Id(), ct);
                if (!changed.TryGet(out var changedView, out var e3)) return e3.ToProblem();
                return TypedResults.Ok(changedView);
        }
    }
}
