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
            .WithSummary("Yanks or unyanks a version (the signed statement's action); yanked versions leave 'latest' but still download by exact version.")
            .Accepts<SignedRequest>("application/json")
            .WithProblems(400, 403, 404, 409, 413, 415, 429)
            .RateLimited(RateLimitedOperation.Yank);
        return app;
    }

    public static async Task<Results<Ok<YankResponse>, ProblemHttpResult>> Yank(
        string name, string version, HttpContext http, PackageCommands commands, Limits limits, TimeProvider time,
        KeyRateLimiter keyLimits, CancellationToken ct)
    {
        var normalized = PackageName.Normalize(name);
        if (normalized.Error is { } nameError) return nameError.ToProblem();
        var semver = SemanticVersion.Parse(version);
        if (semver.Error is { } versionError) return versionError.ToProblem();
        var read = await SignedStatements.ReadAsync<YankStatement>(http, PayloadTypes.Yank, RateLimitedOperation.Yank, limits, time, keyLimits, ct);
        if (read.Error is { } readError) return readError.ToProblem();
        var (statement, signer, _, statementId) = read.Value!;
        var yank = PackageStatements.Yank(statement, normalized.Value!, name, semver.Value!, version, signer);
        if (yank.Error is { } invalid) return invalid.ToProblem();
        var command = yank.Value!;

        var outcome = await commands.HandleAsync(normalized.Value!,
            new StatementReceipt(statementId, PayloadTypes.Yank, normalized.Value!, signer.KeyId, default), http.Id(),
            (state, now) => PackageDecider.Decide(state, command, now), beforeCommit: null, ct);
        if (outcome.Error is { } refused) return refused.ToProblem();
        if (outcome.Value!.Events.Count > 0) MarketplaceMetrics.YankChanged(command.Yanked);
        return TypedResults.Ok(new YankResponse(normalized.Value!, command.Version.Key, command.Yanked, command.Reason, outcome.Value!.Sequence));
    }
}
