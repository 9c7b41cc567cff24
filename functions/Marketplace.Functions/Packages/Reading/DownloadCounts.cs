using System.Text.Json;
using Marketplace.Functions.Infrastructure;
using Marketplace.Packages;
using Marketplace.Projections.Downloads;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Packages.Reading;

public sealed record DailyDownloads(DateOnly Day, long Count);

public sealed record DownloadsResponse(string Name, long Total, IReadOnlyList<DailyDownloads> Days);

/// <summary>Reads the counters kept by <see cref="DownloadCountsProjection"/>.</summary>
public sealed class DownloadCounts(IDocumentStore store)
{
    private readonly string _table = DownloadCountsProjection.TableIn(store.Options.DatabaseSchemaName);

    public async Task<long> TotalAsync(IQuerySession session, string name, string? versionKey, CancellationToken ct)
    {
        var rows = versionKey is null
            ? await session.QueryAsync<long>($"select coalesce(sum(count), 0)::bigint from {_table} where name = ?", ct, name)
            : await session.QueryAsync<long>(
                $"select coalesce(sum(count), 0)::bigint from {_table} where name = ? and version = ?", ct, name, versionKey);
        return rows.Count > 0 ? rows[0] : 0;
    }

    public async Task<IReadOnlyList<DailyDownloads>> DailyAsync(IQuerySession session, string name, DateOnly since, CancellationToken ct)
    {
        // One scalar (a JSON array) keeps this to Marten's scalar query path.
        var json = await session.QueryAsync<string>(
            $"select coalesce(json_agg(json_build_object('day', to_char(day, 'YYYY-MM-DD'), 'count', total) order by day), '[]')::text " +
            $"from (select day, sum(count)::bigint as total from {_table} where name = ? and day >= ? group by day) d", ct, name, since);
        return JsonSerializer.Deserialize<List<DailyDownloads>>(json[0], BoundedJson.Options)!;
    }
}

public static class DownloadsEndpoint
{
    public static IEndpointRouteBuilder MapDownloadCounts(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/packages/{name}/downloads", Get).WithName("GetDownloads")
            .WithSummary("Downloads of a package: the total and one count per UTC day over the last `days` days (default 30, at most 366).")
            .WithProblems(400, 404);
        return app;
    }

    public static async Task<Results<Ok<DownloadsResponse>, ProblemHttpResult>> Get(
        string name, int? days, IQuerySession session, PackageCommands commands, DownloadCounts counts, TimeProvider time, CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out var error)) return error.ToProblem();
        if (days is < 1 or > 366)
            return DomainError.InvalidRequest("days is between 1 and 366.").ToProblem();
        if (await commands.LoadAsync(normalized, ct) is null)
            return DomainError.NotFound($"Package {normalized} does not exist.").ToProblem();
        var since = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(1 - (days ?? 30));
        return TypedResults.Ok(new DownloadsResponse(normalized,
            await counts.TotalAsync(session, normalized, null, ct),
            await counts.DailyAsync(session, normalized, since, ct)));
    }
}
