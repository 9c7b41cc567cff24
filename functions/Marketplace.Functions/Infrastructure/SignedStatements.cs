using Marketplace.Functions.Packages;
using Marketplace.Functions.Protection;
using Marketplace.Signing;

namespace Marketplace.Functions.Infrastructure;

/// <summary>The body of a signed request: a DSSE envelope and the signer's public key.</summary>
public interface ISignedBody
{
    DsseEnvelope? Envelope { get; }
    string? PublicKey { get; }
}

/// <summary>A signed management request (yank, owners, trusted publishers, webhooks).</summary>
public sealed record SignedRequest(DsseEnvelope? Envelope, string? PublicKey) : ISignedBody;

/// <summary>
/// What reading a signed request needs, bound by <c>[AsParameters]</c> in the endpoints: the request, the input bounds,
/// the clock and the per-key quotas.
/// </summary>
public sealed record SignedInput(HttpContext Http, Limits Limits, TimeProvider Time, KeyRateLimiter KeyLimits);

/// <summary>
/// The one reading of a signed request: the bounded body, the DSSE verification of the statement, then the per-key
/// charge of the operation's quota — in that order, so a statement that does not verify costs no key anything.
/// </summary>
public static class SignedStatements
{
    /// <inheritdoc cref="ReadAsync{T}(HttpContext, string, RateLimitedOperation, Limits, TimeProvider, KeyRateLimiter, CancellationToken)"/>
    public static Task<Outcome<VerifiedStatement<T>>> ReadAsync<T>(SignedInput input, string payloadType, RateLimitedOperation operation,
        CancellationToken ct) where T : class, IStatement =>
        ReadAsync<T>(input.Http, payloadType, operation, input.Limits, input.Time, input.KeyLimits, ct);

    /// <summary>A management request (<c>{envelope, publicKey}</c>, at most <see cref="Limits.MaxRequestBytes"/>).</summary>
    public static async Task<Outcome<VerifiedStatement<T>>> ReadAsync<T>(HttpContext http, string payloadType, RateLimitedOperation operation,
        Limits limits, TimeProvider time, KeyRateLimiter keyLimits, CancellationToken ct) where T : class, IStatement
    {
        var read = await ReadAsync<SignedRequest, T>(http, limits.MaxRequestBytes, payloadType, operation, time, keyLimits, ct);
        if (!read.TryGet(out var signed, out var error)) return error;
        return signed.Verified;
    }

    /// <summary>A signed body that carries more than the envelope (a publish's inline blob and certificate).</summary>
    public static async Task<Outcome<(TBody Body, VerifiedStatement<T> Verified)>> ReadAsync<TBody, T>(HttpContext http, long maxBytes,
        string payloadType, RateLimitedOperation operation, TimeProvider time, KeyRateLimiter keyLimits, CancellationToken ct)
        where TBody : class, ISignedBody where T : class, IStatement
    {
        var body = await BoundedJson.ReadAsync<TBody>(http.Request, maxBytes, ct);
        if (!body.TryGet(out var request, out var bodyError)) return bodyError;
        var verified = StatementVerifier.Verify<T>(request.Envelope, request.PublicKey, payloadType, time.GetUtcNow());
        if (!verified.TryGet(out var v, out var statementError)) return statementError;
        if (keyLimits.Charge(http, operation, v.Signer.KeyId, v.StatementId) is { } limited) return limited;
        return (request, v);
    }
}
