using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Observability;
using Marketplace.Functions.Protection;
using Marketplace.Packages;
using Marketplace.Signing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Packages.Yanking;

public sealed record YankResponse(string Name, string Version, bool Yanked, string? Reason, long Sequence);

public static class YankEndpoint
{
    public static IEndpointRouteBuilder MapYanking(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/packages/{name}/{version}/yank", Yank)
            .WithName("YankVersion")
            .WithSummary("Yanks or unyanks a version (the signed statement's action); " +
                "yanked versions leave 'latest' but still download by exact version.")
            .Accepts<SignedRequest>("application/json")
            .WithProblems(400, 403, 404, 409, 413, 415, 429)
            .RateLimited(RateLimitedOperation.Yank);
        return app;
    }

    public static async Task<Results<Ok<YankResponse>, ProblemHttpResult>> Yank(
        string name, string version, [AsParameters] SignedInput input, PackageCommands commands, CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var nameError)) return nameError.ToProblem();
        if (!SemanticVersion.Parse(version).TryGet(out var semver, out var versionError)) return versionError.ToProblem();
        var read = await SignedStatements.ReadAsync<YankStatement>(input, PayloadTypes.Yank, RateLimitedOperation.Yank, ct);
        if (!read.TryGet(out var verified, out var readError)) return readError.ToProblem();
        var (statement, signer, _, statementId) = verified;
        var yank = PackageStatements.Yank(statement, normalized, name, semver, version, signer);
        if (!yank.TryGet(out var command, out var invalid)) return invalid.ToProblem();

        var outcome = await commands.HandleAsync(normalized,
            new StatementReceipt(statementId, PayloadTypes.Yank, normalized, signer.KeyId, default), input.Http.Id(),
            (state, now) => PackageDecider.Decide(state, command, now), beforeCommit: null, ct);
        if (!outcome.TryGet(out var appended, out var refused)) return refused.ToProblem();
        if (appended.Events.Count > 0) MarketplaceMetrics.YankChanged(command.Yanked);
        return TypedResults.Ok(new YankResponse(normalized, command.Version.Key, command.Yanked, command.Reason, appended.Sequence));
    }
}
