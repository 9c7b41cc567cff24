using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Packages;
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
        var decide = PackageStatements.TrustedPublishers(s, normalized.Value!, name, signer, issuer => options.Find(issuer) is not null);
        if (decide.Error is { } invalid) return invalid.ToProblem();

        var outcome = await commands.HandleAsync(normalized.Value!,
            new StatementReceipt(statementId, PayloadTypes.TrustedPublisher, normalized.Value!, signer.KeyId, default), http.Id(),
            decide.Value!, beforeCommit: null, ct);
        if (outcome.Error is { } refused) return refused.ToProblem();
        return TypedResults.Ok(Describe(outcome.Value!.State!));
    }

    private static TrustedPublishersResponse Describe(PackageState state) =>
        new(state.Id, state.RequireTrustedPublishing, state.TrustedPublishers);
}
