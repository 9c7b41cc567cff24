using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Observability;
using Marketplace.Functions.Protection;
using Marketplace.Functions.Packages.Yanking;
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
        var normalized = PackageName.Normalize(name);
        if (normalized.Error is { } nameError) return nameError.ToProblem();
        var state = await commands.LoadAsync(normalized.Value!, ct);
        return state is null
            ? DomainError.NotFound($"Package {normalized.Value} does not exist.").ToProblem()
            : TypedResults.Ok(Describe(state));
    }

    public static async Task<Results<Ok<OwnersResponse>, ProblemHttpResult>> Change(
        string name, HttpContext http, PackageCommands commands, Limits limits, TimeProvider time, KeyRateLimiter keyLimits, CancellationToken ct)
    {
        var normalized = PackageName.Normalize(name);
        if (normalized.Error is { } nameError) return nameError.ToProblem();
        var read = await SignedStatements.ReadAsync<OwnersStatement>(http, PayloadTypes.Owners, RateLimitedOperation.Owners, limits, time, keyLimits, ct);
        if (read.Error is { } readError) return readError.ToProblem();
        var (statement, signer, _, statementId) = read.Value!;
        if (statement.Action is not ("add" or "remove"))
            return DomainError.InvalidStatement("action must be 'add' or 'remove'.").ToProblem();
        if (PackageName.Normalize(statement.Name).Value != normalized.Value)
            return DomainError.StatementMismatch($"The statement names '{statement.Name}', the path '{name}'.").ToProblem();

        var add = statement.Action == "add";
        string? publicKey = null;
        if (add || statement.PublicKey is not null)
        {
            var key = OwnerKey.Parse(statement.PublicKey);
            if (key.Error is { } keyError) return keyError.ToProblem();
            if (key.Value!.KeyId != statement.KeyId)
                return DomainError.InvalidStatement($"keyId {statement.KeyId} is not the id of the statement's publicKey ({key.Value.KeyId}).").ToProblem();
            publicKey = key.Value.PublicKey;
        }
        else if (statement.KeyId is not { Length: 40 } || !statement.KeyId.StartsWith("ed25519:", StringComparison.Ordinal) || !statement.KeyId[8..].All(char.IsAsciiHexDigitLower))
        {
            return DomainError.InvalidStatement("keyId must be 'ed25519:' followed by 32 lowercase hex characters.").ToProblem();
        }

        var command = new PackageDecider.ChangeOwner(normalized.Value!, add, statement.KeyId, publicKey, signer);
        var outcome = await commands.HandleAsync(normalized.Value!,
            new StatementReceipt(statementId, PayloadTypes.Owners, normalized.Value!, signer.KeyId, default), http.Id(),
            (state, now) => PackageDecider.Decide(state, command, now), beforeCommit: null, ct);
        if (outcome.Error is { } refused) return refused.ToProblem();
        if (outcome.Value!.Events.Count > 0) MarketplaceMetrics.OwnerChanged(add);
        return TypedResults.Ok(Describe(outcome.Value.State!));
    }

    private static OwnersResponse Describe(PackageState state) =>
        new(state.Id, state.Owners.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => new OwnerEntry(o.Key, o.Value)).ToList());
}
