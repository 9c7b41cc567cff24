using Marketplace.Functions.Packages;
using Marketplace.Functions.Packages.Yanking;
using Marketplace.Functions.Protection;
using Marketplace.Signing;

namespace Marketplace.Functions.Infrastructure;

/// <summary>
/// The one reading of a signed management request (<c>{envelope, publicKey}</c>): the bounded body, the DSSE
/// verification of the statement, then the per-key charge of the operation's quota — in that order, so a statement
/// that does not verify costs no key anything.
/// </summary>
public static class SignedStatements
{
    public static async Task<Outcome<VerifiedStatement<T>>> ReadAsync<T>(HttpContext http, string payloadType, RateLimitedOperation operation,
        Limits limits, TimeProvider time, KeyRateLimiter keyLimits, CancellationToken ct) where T : class, IStatement
    {
        var body = await BoundedJson.ReadAsync<SignedRequest>(http.Request, limits.MaxRequestBytes, ct);
        if (body.Error is { } bodyError) return bodyError;
        var verified = StatementVerifier.Verify<T>(body.Value!.Envelope, body.Value.PublicKey, payloadType, time.GetUtcNow());
        if (verified.Error is { } statementError) return statementError;
        var v = verified.Value!;
        if (keyLimits.Charge(http, operation, v.Signer.KeyId, v.StatementId) is { } limited) return limited;
        return v;
    }
}
