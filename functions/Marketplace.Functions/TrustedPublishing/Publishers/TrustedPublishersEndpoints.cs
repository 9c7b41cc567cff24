using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Packages;
using Marketplace.Functions.Packages.Yanking;
using Marketplace.Functions.Protection;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.TrustedPublishing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.TrustedPublishing.Publishers;

public sealed record TrustedPublishersResponse(string Name, bool RequireTrustedPublishing, IReadOnlyList<TrustedPublisher> TrustedPublishers);

/// <summary>
/// <c>GET</c>, <c>POST /v1/packages/{name}/trusted-publishers</c>: the CI workflows that may publish a package, changed by an
/// owner's signed statement (<c>add</c>, <c>remove</c>, or <c>require</c> trusted publishing).
/// </summary>
public static class TrustedPublishersEndpoints
{
    public static IEndpointRouteBuilder MapTrustedPublishers(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/packages/{name}/trusted-publishers", List).WithName("ListTrustedPublishers")
            .WithSummary("The package's trusted publishers and whether only they may publish (from the stream's own snapshot).")
            .WithProblems(400, 404);
        app.MapPost("/v1/packages/{name}/trusted-publishers", Change).WithName("ChangeTrustedPublishers")
            .WithSummary("Adds or removes a trusted publisher, or requires trusted publishing, by an owner's signed statement.")
            .Accepts<SignedRequest>("application/json")
            .WithProblems(400, 403, 404, 409, 413, 415, 429)
            .RateLimited(RateLimitedOperation.Owners);
        return app;
    }

    public static async Task<Results<Ok<TrustedPublishersResponse>, ProblemHttpResult>> List(string name, PackageCommands commands, CancellationToken ct)
    {
        var normalized = PackageName.Normalize(name);
        if (normalized.Error is { } nameError) return nameError.ToProblem();
        var state = await commands.LoadAsync(normalized.Value!, ct);
        return state is null
            ? DomainError.NotFound($"Package {normalized.Value} does not exist.").ToProblem()
            : TypedResults.Ok(Describe(state));
    }

    public static async Task<Results<Ok<TrustedPublishersResponse>, ProblemHttpResult>> Change(string name, HttpContext http, PackageCommands commands,
        TrustedPublishingOptions options, Limits limits, TimeProvider time, KeyRateLimiter keyLimits, CancellationToken ct)
    {
        var normalized = PackageName.Normalize(name);
        if (normalized.Error is { } nameError) return nameError.ToProblem();
        var read = await SignedStatements.ReadAsync<TrustedPublisherStatement>(http, PayloadTypes.TrustedPublisher, RateLimitedOperation.Owners, limits, time, keyLimits, ct);
        if (read.Error is { } readError) return readError.ToProblem();
        var (s, signer, _, statementId) = read.Value!;
        if (PackageName.Normalize(s.Name).Value != normalized.Value)
            return DomainError.StatementMismatch($"The statement names '{s.Name}', the path '{name}'.").ToProblem();

        Func<PackageState?, DateTimeOffset, Outcome<object[]>> decide;
        switch (s.Action)
        {
            case "add" or "remove":
                if (s.Required is not null)
                    return DomainError.InvalidStatement("required belongs to action 'require'.").ToProblem();
                if (TrustedPublisherRules.Validate(s.Issuer, s.Repository, s.Workflow, s.Environment) is { } invalid)
                    return invalid.ToProblem();
                if (s.Action == "add" && options.Find(s.Issuer!.TrimEnd('/')) is null)
                    return DomainError.InvalidStatement($"issuer {s.Issuer} is not configured on this registry (TrustedPublishing:Issuers).").ToProblem();
                var change = new TrustedPublishingDecider.ChangePublisher(normalized.Value!, s.Action == "add",
                    new TrustedPublisher(s.Issuer!.TrimEnd('/'), s.Repository!, s.Workflow!, s.Environment), signer);
                decide = (state, now) => TrustedPublishingDecider.Decide(state, change, now);
                break;
            case "require":
                if (s.Required is not { } required)
                    return DomainError.InvalidStatement("action 'require' needs required: true or false.").ToProblem();
                if (s.Issuer is not null || s.Repository is not null || s.Workflow is not null || s.Environment is not null)
                    return DomainError.InvalidStatement("action 'require' names no publisher.").ToProblem();
                var set = new TrustedPublishingDecider.SetRequirement(normalized.Value!, required, signer);
                decide = (state, now) => TrustedPublishingDecider.Decide(state, set, now);
                break;
            default:
                return DomainError.InvalidStatement("action must be 'add', 'remove' or 'require'.").ToProblem();
        }

        var outcome = await commands.HandleAsync(normalized.Value!,
            new StatementReceipt(statementId, PayloadTypes.TrustedPublisher, normalized.Value!, signer.KeyId, default), http.Id(),
            decide, beforeCommit: null, ct);
        if (outcome.Error is { } refused) return refused.ToProblem();
        return TypedResults.Ok(Describe(outcome.Value!.State!));
    }

    private static TrustedPublishersResponse Describe(PackageState state) =>
        new(state.Id, state.RequireTrustedPublishing, state.TrustedPublishers);
}
