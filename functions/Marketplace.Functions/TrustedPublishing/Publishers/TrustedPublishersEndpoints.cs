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

    public static async Task<Results<Ok<TrustedPublishersResponse>, ProblemHttpResult>> List(
        string name, PackageCommands commands, CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var nameError)) return nameError.ToProblem();
        var state = await commands.LoadAsync(normalized, ct);
        return state is null
            ? DomainError.NotFound($"Package {normalized} does not exist.").ToProblem()
            : TypedResults.Ok(Describe(state));
    }

    public static async Task<Results<Ok<TrustedPublishersResponse>, ProblemHttpResult>> Change(string name, [AsParameters] SignedInput input,
        PackageCommands commands, TrustedPublishingOptions options, CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var nameError)) return nameError.ToProblem();
        var read = await SignedStatements.ReadAsync<TrustedPublisherStatement>(input, PayloadTypes.TrustedPublisher, RateLimitedOperation.Owners, ct);
        if (!read.TryGet(out var verified, out var readError)) return readError.ToProblem();
        var (s, signer, _, statementId) = verified;
        var decide = PackageStatements.TrustedPublishers(s, normalized, name, signer, issuer => options.Find(issuer) is not null);
        if (!decide.TryGet(out var decision, out var invalid)) return invalid.ToProblem();

        var outcome = await commands.HandleAsync(normalized,
            new StatementReceipt(statementId, PayloadTypes.TrustedPublisher, normalized, signer.KeyId, default), input.Http.Id(),
            decision, beforeCommit: null, ct);
        if (!outcome.TryGet(out var appended, out var refused)) return refused.ToProblem();
        return TypedResults.Ok(Describe(appended.State!));
    }

    private static TrustedPublishersResponse Describe(PackageState state) =>
        new(state.Id, state.RequireTrustedPublishing, state.TrustedPublishers);
}
