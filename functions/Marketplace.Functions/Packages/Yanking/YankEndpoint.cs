using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Observability;
using Marketplace.Functions.Protection;
using Marketplace.Packages;
using Marketplace.Signing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Packages.Yanking;

public sealed record SignedRequest(DsseEnvelope? Envelope, string? PublicKey);

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
        if (statement.Action is not ("yank" or "unyank"))
            return DomainError.InvalidStatement("action must be 'yank' or 'unyank'.").ToProblem();
        if (PackageName.Normalize(statement.Name).Value != normalized.Value)
            return DomainError.StatementMismatch($"The statement names '{statement.Name}', the path '{name}'.").ToProblem();
        if (SemanticVersion.Parse(statement.Version).Value?.Key != semver.Value!.Key)
            return DomainError.StatementMismatch($"The statement names version '{statement.Version}', the path '{version}'.").ToProblem();
        if (statement.Reason is { Length: > 1024 })
            return DomainError.InvalidStatement("reason has at most 1024 characters.").ToProblem();

        var yank = statement.Action == "yank";
        var command = new PackageDecider.Yank(normalized.Value!, semver.Value, yank, yank ? statement.Reason : null, signer);
        var outcome = await commands.HandleAsync(normalized.Value!,
            new StatementReceipt(statementId, PayloadTypes.Yank, normalized.Value!, signer.KeyId, default), http.Id(),
            (state, now) => PackageDecider.Decide(state, command, now), beforeCommit: null, ct);
        if (outcome.Error is { } refused) return refused.ToProblem();
        if (outcome.Value!.Events.Count > 0) MarketplaceMetrics.YankChanged(yank);
        return TypedResults.Ok(new YankResponse(normalized.Value!, semver.Value.Key, yank, command.Reason, outcome.Value!.Sequence));
    }
}
