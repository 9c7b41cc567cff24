using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Observability;
using Marketplace.Functions.Protection;
using Marketplace.Packages;
using Marketplace.Signing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Packages.Owners;

public sealed record OwnerEntry(string KeyId, string PublicKey);

public sealed record OwnersResponse(string Name, IReadOnlyList<OwnerEntry> Owners);

public static class OwnersEndpoints
{
    public static IEndpointRouteBuilder MapOwners(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/packages/{name}/owners", List).WithName("ListOwners")
            .WithSummary("The package's owner keys (read from the stream's own snapshot, so a change shows at once).")
            .WithProblems(400, 404);
        app.MapPost("/v1/packages/{name}/owners", Change).WithName("ChangeOwners")
            .WithSummary("Adds or removes an owner key by an owner's signed statement; a package always keeps one owner.")
            .Accepts<SignedRequest>("application/json")
            .WithProblems(400, 403, 404, 409, 413, 415, 429)
            .RateLimited(RateLimitedOperation.Owners);
        return app;
    }

    public static async Task<Results<Ok<OwnersResponse>, ProblemHttpResult>> List(string name, PackageCommands commands, CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var nameError)) return nameError.ToProblem();
        var state = await commands.LoadAsync(normalized, ct);
        return state is null
            ? DomainError.NotFound($"Package {normalized} does not exist.").ToProblem()
            : TypedResults.Ok(Describe(state));
    }

    public static async Task<Results<Ok<OwnersResponse>, ProblemHttpResult>> Change(
        string name, [AsParameters] SignedInput input, PackageCommands commands, CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var nameError)) return nameError.ToProblem();
        var read = await SignedStatements.ReadAsync<OwnersStatement>(input, PayloadTypes.Owners, RateLimitedOperation.Owners, ct);
        if (!read.TryGet(out var verified, out var readError)) return readError.ToProblem();
        var (statement, signer, _, statementId) = verified;
        var change = PackageStatements.ChangeOwner(statement, normalized, name, signer);
        if (!change.TryGet(out var command, out var invalid)) return invalid.ToProblem();

        var outcome = await commands.HandleAsync(normalized,
            new StatementReceipt(statementId, PayloadTypes.Owners, normalized, signer.KeyId, default), input.Http.Id(),
            (state, now) => PackageDecider.Decide(state, command, now), beforeCommit: null, ct);
        if (!outcome.TryGet(out var appended, out var refused)) return refused.ToProblem();
        if (appended.Events.Count > 0) MarketplaceMetrics.OwnerChanged(command.Add);
        return TypedResults.Ok(Describe(appended.State!));
    }

    private static OwnersResponse Describe(PackageState state) =>
        new(state.Id, state.Owners.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => new OwnerEntry(o.Key, o.Value)).ToList());
}
