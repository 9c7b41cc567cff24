using JasperFx;
using JasperFx.Events;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Packages;
using Marketplace.Functions.Protection;
using Marketplace.Functions.Registry;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.TrustedPublishing;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;
using NSec.Cryptography;

namespace Marketplace.Functions.TrustedPublishing.Exchanging;

public sealed record ExchangeRequest(string? Token, string? Name, string? PublicKey);

public sealed record ExchangeResponse(DsseEnvelope Certificate);

/// <summary>An ID token that was exchanged once: its id is SHA-256(issuer ‖ "\n" ‖ jti), so the same token is never exchanged again.</summary>
public sealed record IdTokenReceipt(string Id, string Issuer, string TokenId, string Name, DateTimeOffset ExpiresAt, DateTimeOffset AcceptedAt);

/// <summary>
/// <c>POST /v1/trusted-publishing/exchange</c>: a CI job's OIDC ID token, the package and an ephemeral Ed25519 key in; a
/// certificate signed by the registry key out, when the token verifies and a trusted publisher of the package admits the job.
/// </summary>
public static class ExchangeEndpoint
{
    private const int MaxAttempts = 4;

    public static IEndpointRouteBuilder MapExchange(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/trusted-publishing/exchange", Exchange).WithName("ExchangeIdToken")
            .WithSummary("Exchanges a CI job's OIDC ID token for a short-lived publisher certificate of an ephemeral key.")
            .Accepts<ExchangeRequest>("application/json")
            .WithProblems(400, 401, 403, 409, 413, 415, 429, 503)
            .RateLimited(RateLimitedOperation.Publish);
        return app;
    }

    /// <summary>What an exchange uses, bound by <c>[AsParameters]</c>.</summary>
    public sealed record ExchangeServices(TrustedPublishingOptions Options, OidcKeys Keys, RegistryKey Registry, PublicUrls Urls,
        IDocumentStore Store, Limits Limits, TimeProvider Time);

    public static async Task<Results<Created<ExchangeResponse>, ProblemHttpResult>> Exchange(HttpContext http,
        [AsParameters] ExchangeServices services, CancellationToken ct)
    {
        var (options, keys, registry, urls, store, limits, time) = services;
        var body = await BoundedJson.ReadAsync<ExchangeRequest>(http.Request, limits.MaxRequestBytes, ct);
        if (!body.TryGet(out var request, out var bodyError)) return bodyError.ToProblem();
        var name = PackageName.Normalize(request.Name);
        if (!name.TryGet(out var packageName, out var nameError)) return nameError.ToProblem();
        var key = OwnerKey.Parse(request.PublicKey);
        if (!key.TryGet(out var signer, out var keyError)) return keyError.ToProblem();

        var parsed = IdToken.Parse(request.Token);
        if (!parsed.TryGet(out var token, out var tokenError)) return tokenError.ToProblem();
        if (options.Find(token.Claim("iss")) is not { } issuer)
            return DomainError.InvalidToken($"iss '{token.Claim("iss")}' is not an issuer this registry trusts.").ToProblem();
        IReadOnlyList<System.Text.Json.JsonElement> candidates;
        try
        {
            candidates = await keys.CandidatesAsync(issuer.Issuer, token.KeyId, ct);
        }
        catch (OidcUnavailableException e)
        {
            return DomainError.Unavailable($"The keys of {issuer.Issuer} cannot be fetched now: {e.Message}").ToProblem();
        }
        if (candidates.Count == 0)
            return DomainError.InvalidToken($"{issuer.Issuer} has no key '{token.KeyId}'.").ToProblem();
        if (!candidates.Any(token.Verify))
            return DomainError.InvalidToken(
                $"the token's {token.Algorithm} signature does not verify under the keys of {issuer.Issuer}.").ToProblem();
        var now = time.GetUtcNow();
        var audience = issuer.Audience ?? urls.Base(http).GetLeftPart(UriPartial.Authority);
        if (token.CheckClaims(issuer.Issuer, audience, now) is { } claimsError) return claimsError.ToProblem();
        var identity = token.Identity(issuer.Issuer, issuer.ParsedKind);
        if (!identity.TryGet(out var job, out var identityError)) return identityError.ToProblem();

        var certificate = PublisherCertificate.For(packageName, signer, job, now);
        var payload = certificate.Serialize();
        var signature = SignatureAlgorithm.Ed25519.Sign(registry.Key, Dsse.Pae(PayloadTypes.PublisherCertificate, payload));
        var envelope = new DsseEnvelope(PayloadTypes.PublisherCertificate, Convert.ToBase64String(payload),
            [new DsseSignature(registry.Public.KeyId, Convert.ToBase64String(signature))]);

        var jti = token.Claim("jti")!;
        var receipt = new IdTokenReceipt(
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(issuer.Issuer + "\n" + jti))),
            issuer.Issuer, jti, packageName, token.Time("exp")!.Value, now);
        var command = new TrustedPublishingDecider.IssueCertificate(packageName, job, jti, certificate, envelope);
        for (var attempt = 1; ; attempt++)
        {
            await using var session = store.LightweightSession();
            session.CorrelationId = http.Id();
            session.LastModifiedBy = signer.KeyId;
            var stream = await session.Events.FetchForWriting<PackageState>(packageName, ct);
            var decision = TrustedPublishingDecider.Decide(stream.Aggregate, command, time.GetUtcNow());
            if (!decision.TryGet(out var events, out var refused)) return refused.ToProblem();
            stream.AppendMany(events);
            session.Insert(receipt);
            try
            {
                await session.SaveChangesAsync(ct);
                return TypedResults.Created((string?)null, new ExchangeResponse(envelope));
            }
            catch (Exception e) when (e is ConcurrencyException or ExistingStreamIdCollisionException
                                          or Marten.Exceptions.ExistingStreamIdCollisionException && attempt < MaxAttempts)
            {
                // Another writer moved the package stream on; decide again.
            }
            catch (DocumentAlreadyExistsException e) when (e.DocType == typeof(IdTokenReceipt))
            {
                return DomainError.TokenReplayed().ToProblem();
            }
        }
    }
}
