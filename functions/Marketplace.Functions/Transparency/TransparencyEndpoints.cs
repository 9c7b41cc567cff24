using Marketplace.Functions.Protection;
using System.Globalization;
using Marketplace.Functions.Infrastructure;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Marketplace.Functions.Transparency;

public sealed record CheckpointResponse(string Origin, long TreeSize, string RootHash, string KeyId, string VerifierKey, string Note);

public sealed record LeafResponse(long Index, long Sequence, string LeafHash);

public sealed record InclusionResponse(long Index, long Sequence, long TreeSize, string LeafHash, IReadOnlyList<string> Proof);

public sealed record ConsistencyResponse(long From, long To, IReadOnlyList<string> Proof);

/// <summary>
/// The transparency log's read side: the signed checkpoint, a leaf by index or event sequence, inclusion proofs and
/// consistency proofs (hashes in base64, as in checkpoints).
/// </summary>
public static class TransparencyEndpoints
{
    public static IEndpointRouteBuilder MapTransparency(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/log/checkpoint", GetCheckpoint).WithName("GetCheckpoint")
            .WithSummary("The latest signed checkpoint of the transparency log (tree size, root hash, signed note).")
            .Produces<CheckpointResponse>().WithProblems(429).RateLimited(RateLimitedOperation.LogProof);
        app.MapGet("/v1/log/leaves/{index}", GetLeaf).WithName("GetLogLeaf")
            .WithSummary("One leaf: its index, the sequence of its event and its leaf hash.")
            .Produces<LeafResponse>().WithProblems(400, 404, 429).RateLimited(RateLimitedOperation.LogProof);
        app.MapGet("/v1/log/proof/inclusion", GetInclusion).WithName("GetInclusionProof")
            .WithSummary("The inclusion proof of a leaf (by index or event sequence) in the tree of a given size (default: the latest).")
            .Produces<InclusionResponse>().WithProblems(400, 404, 429).RateLimited(RateLimitedOperation.LogProof);
        app.MapGet("/v1/log/proof/consistency", GetConsistency).WithName("GetConsistencyProof")
            .WithSummary("The consistency proof between two tree sizes (to defaults to the latest).")
            .Produces<ConsistencyResponse>().WithProblems(400, 429).RateLimited(RateLimitedOperation.LogProof);
        return app;
    }

    public static async Task<Ok<CheckpointResponse>> GetCheckpoint(
        TransparencyLog log, Registry.RegistryKey key, HttpContext http, CancellationToken ct)
    {
        var (checkpoint, note) = await log.CheckpointAsync(ct);
        http.Response.Headers.CacheControl = "no-cache";
        return TypedResults.Ok(new CheckpointResponse(checkpoint.Origin, checkpoint.TreeSize, Convert.ToBase64String(checkpoint.RootHash),
            key.Public.KeyId, log.VerifierKey, note));
    }

    public static async Task<Results<Ok<LeafResponse>, ProblemHttpResult>> GetLeaf(
        string index, TransparencyLog log, IDocumentStore store, CancellationToken ct)
    {
        if (!long.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var i))
            return DomainError.InvalidRequest("index is a non-negative integer.").ToProblem();
        await using var session = store.QuerySession();
        return await log.LeafAsync(session, i, null, ct) is { } leaf
            ? TypedResults.Ok(new LeafResponse(leaf.Index, leaf.Sequence, Convert.ToBase64String(leaf.Hash)))
            : DomainError.NotFound($"The log has no leaf {i} (yet).").ToProblem();
    }

    public static async Task<Results<Ok<InclusionResponse>, ProblemHttpResult>> GetInclusion(
        string? index, string? sequence, string? treeSize, TransparencyLog log, IDocumentStore store, CancellationToken ct)
    {
        if ((index is null) == (sequence is null))
            return DomainError.InvalidRequest("Give exactly one of index and sequence.").ToProblem();
        if (!TryCount(index ?? sequence, out var position) || !TryCount(treeSize, out var size, optional: true))
            return DomainError.InvalidRequest("index, sequence and treeSize are non-negative integers.").ToProblem();
        await using var session = store.QuerySession();
        var latest = await log.SizeAsync(session, ct);
        var tree = size ?? latest;
        if (tree > latest)
            return DomainError.InvalidRequest($"treeSize {tree} is larger than the log ({latest}).").ToProblem();
        var leaf = await log.LeafAsync(session, index is null ? null : position, sequence is null ? null : position, ct);
        if (leaf is null)
            return DomainError.NotFound(index is null
                ? $"Event {position} is not in the log (not a logged type, or not logged yet)."
                : $"The log has no leaf {position} (yet).").ToProblem();
        if (leaf.Index >= tree)
            return DomainError.InvalidRequest($"Leaf {leaf.Index} is not in a tree of size {tree}.").ToProblem();
        var proof = await log.InclusionProofAsync(session, leaf.Index, tree, ct);
        return TypedResults.Ok(new InclusionResponse(
            leaf.Index, leaf.Sequence, tree, Convert.ToBase64String(leaf.Hash), proof.Select(Convert.ToBase64String).ToList()));
    }

    public static async Task<Results<Ok<ConsistencyResponse>, ProblemHttpResult>> GetConsistency(
        string? from, string? to, TransparencyLog log, IDocumentStore store, CancellationToken ct)
    {
        if (!TryCount(from, out var oldSize) || !TryCount(to, out var newSize, optional: true))
            return DomainError.InvalidRequest("from (required) and to are non-negative integers.").ToProblem();
        await using var session = store.QuerySession();
        var latest = await log.SizeAsync(session, ct);
        var tree = newSize ?? latest;
        if (tree > latest || oldSize > tree)
            return DomainError.InvalidRequest($"Need from ≤ to ≤ {latest} (the size of the log).").ToProblem();
        var proof = await log.ConsistencyProofAsync(session, oldSize!.Value, tree, ct);
        return TypedResults.Ok(new ConsistencyResponse(oldSize.Value, tree, proof.Select(Convert.ToBase64String).ToList()));
    }

    private static bool TryCount(string? text, out long? value, bool optional = false)
    {
        value = null;
        if (text is null) return optional;
        if (text.Length > 19 || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)) return false;
        value = parsed;
        return true;
    }
}
