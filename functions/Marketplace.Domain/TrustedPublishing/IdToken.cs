using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Marketplace.TrustedPublishing;

/// <summary>The kind of an issuer says which claims name the repository, the workflow and the environment.</summary>
public enum IssuerKind { GitHub, GitLab }

/// <summary>
/// A compact JWS (an OIDC ID token) split and decoded, not yet trusted: <see cref="Verify"/> checks its signature under
/// one of the issuer's keys and <see cref="CheckClaims"/> its issuer, audience and lifetime. Only RS256 and ES256 are
/// accepted: never <c>none</c>, never an HMAC (a public key is not a secret).
/// </summary>
public sealed class IdToken
{
    public const int MaxLength = 16 * 1024;
    public static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);
    public static readonly IReadOnlySet<string> Algorithms = new HashSet<string>(StringComparer.Ordinal) { "RS256", "ES256" };

    private IdToken(string algorithm, string? keyId, JsonElement claims, byte[] signingInput, byte[] signature)
    {
        Algorithm = algorithm; KeyId = keyId; Claims = claims; _signingInput = signingInput; _signature = signature;
    }

    private readonly byte[] _signingInput;
    private readonly byte[] _signature;

    public string Algorithm { get; }
    public string? KeyId { get; }
    public JsonElement Claims { get; }

    public string? Claim(string name) =>
        Claims.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;

    /// <summary>Splits and decodes a compact JWS; refuses anything but RS256 and ES256 before any key is looked at.</summary>
    public static Outcome<IdToken> Parse(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxLength)
            return DomainError.InvalidToken($"token must be a compact JWS of at most {MaxLength} characters.");
        var parts = token.Split('.');
        if (parts.Length != 3)
            return DomainError.InvalidToken("token must be a compact JWS: header.payload.signature.");
        if (Decode(parts[0]) is not { } headerBytes || Decode(parts[1]) is not { } payloadBytes)
            return DomainError.InvalidToken("the token's header or payload is not base64url.");
        JsonElement header, claims;
        try
        {
            header = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 8, AllowDuplicateProperties = false }).RootElement.Clone();
            claims = JsonDocument.Parse(payloadBytes, new JsonDocumentOptions { MaxDepth = 16, AllowDuplicateProperties = false })
                .RootElement.Clone();
        }
        catch (JsonException)
        {
            return DomainError.InvalidToken("the token's header or payload is not JSON.");
        }
        if (header.ValueKind != JsonValueKind.Object || claims.ValueKind != JsonValueKind.Object)
            return DomainError.InvalidToken("the token's header and payload must be JSON objects.");
        var alg = header.TryGetProperty("alg", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "";
        if (!Algorithms.Contains(alg))
            return DomainError.InvalidToken($"alg '{alg}' is not accepted; ID tokens must be signed with RS256 or ES256.");
        if (header.TryGetProperty("crit", out _))
            return DomainError.InvalidToken("critical header extensions are not supported.");
        if (Decode(parts[2]) is not { } signature)
            return DomainError.InvalidToken("the token's signature is missing or not base64url.");
        var kid = header.TryGetProperty("kid", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
        return new IdToken(alg, kid, claims, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature);
    }

    /// <summary>Whether the signature verifies under <paramref name="jwk"/> (a JWK of the issuer's JWKS) with the token's algorithm.</summary>
    public bool Verify(JsonElement jwk)
    {
        string? Member(string name) => jwk.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (Member("alg") is { } keyAlg && keyAlg != Algorithm) return false;
        if (Member("use") is { } use && use != "sig") return false;
        try
        {
            switch (Algorithm)
            {
                case "RS256" when Member("kty") == "RSA" && Decode(Member("n")) is { } n && Decode(Member("e")) is { } e:
                    if (n.Length < 256) return false; // RSA keys below 2048 bits are refused
                    using (var rsa = RSA.Create())
                    {
                        rsa.ImportParameters(new RSAParameters { Modulus = n, Exponent = e });
                        return rsa.VerifyData(_signingInput, _signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                    }
                case "ES256" when Member("kty") == "EC" && Member("crv") == "P-256"
                                  && Decode(Member("x")) is { Length: 32 } x && Decode(Member("y")) is { Length: 32 } y:
                    if (_signature.Length != 64) return false;
                    using (var ec = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } }))
                        return ec.VerifyData(
                            _signingInput, _signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                default:
                    return false;
            }
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>
    /// <c>iss</c> is the issuer, <c>aud</c> (a string or an array) holds the audience, <c>exp</c> has not passed,
    /// <c>nbf</c> and <c>iat</c> are not in the future (each with <see cref="Skew"/>), and <c>jti</c> is present.
    /// </summary>
    public DomainError? CheckClaims(string issuer, string audience, DateTimeOffset now)
    {
        if (Claim("iss") != issuer)
            return DomainError.InvalidToken($"iss is not {issuer}.");
        var audienceOk = Claims.TryGetProperty("aud", out var aud) && aud.ValueKind switch
        {
            JsonValueKind.String => aud.GetString() == audience,
            JsonValueKind.Array => aud.EnumerateArray().Any(v => v.ValueKind == JsonValueKind.String && v.GetString() == audience),
            _ => false,
        };
        if (!audienceOk)
            return DomainError.InvalidToken($"aud does not name this registry ({audience}).");
        if (Time("exp") is not { } exp)
            return DomainError.InvalidToken("exp is required.");
        if (exp + Skew <= now)
            return DomainError.InvalidToken($"the token expired at {exp:O}.");
        if (Time("nbf") is { } nbf && nbf - Skew > now)
            return DomainError.InvalidToken($"the token is not valid before {nbf:O}.");
        if (Time("iat") is not { } iat)
            return DomainError.InvalidToken("iat is required.");
        if (iat - Skew > now)
            return DomainError.InvalidToken($"the token was issued in the future ({iat:O}).");
        if (Claim("jti") is not { Length: > 0 and <= 256 })
            return DomainError.InvalidToken("jti is required: a token is exchanged once.");
        return null;
    }

    public DateTimeOffset? Time(string name) =>
        Claims.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var seconds)
        && seconds is > 0 and < 253402300799
            ? DateTimeOffset.FromUnixTimeSeconds((long)seconds)
            : null;

    /// <summary>The CI job the token describes, read by the issuer's kind.</summary>
    public Outcome<WorkloadIdentity> Identity(string issuer, IssuerKind kind)
    {
        string? Required(string claim, out DomainError? error)
        {
            var value = Claim(claim);
            error = value is { Length: > 0 } ? null : DomainError.InvalidToken($"the token has no '{claim}' claim.");
            return value;
        }
        if (kind == IssuerKind.GitHub)
        {
            var repository = Required("repository", out var e1);
            var jobWorkflowRef = Required("job_workflow_ref", out var e2);
            if ((e1 ?? e2) is { } missing) return missing;
            // owner/repo/.github/workflows/release.yml@refs/heads/main: the path part cannot hold '@'.
            var path = jobWorkflowRef!.Split('@', 2)[0];
            var at = path.IndexOf("/.github/workflows/", StringComparison.Ordinal);
            if (at <= 0 || path[(at + 19)..] is not { Length: > 0 } workflow || workflow.Contains('/'))
                return DomainError.InvalidToken("job_workflow_ref is not '{repository}/.github/workflows/{file}@{ref}'.");
            return new WorkloadIdentity(issuer, repository!, path[..at], workflow, Claim("ref"), Claim("sha"), Claim("run_id"), Claim("environment"));
        }
        else
        {
            var project = Required("project_path", out var e1);
            var configRef = Required("ci_config_ref_uri", out var e2);
            if ((e1 ?? e2) is { } missing) return missing;
            // gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main
            var path = configRef!.Split('@', 2)[0];
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            var split = slash < 0 ? -1 : path.IndexOf("//", slash + 1, StringComparison.Ordinal);
            if (split <= slash || path[(split + 2)..] is not { Length: > 0 } workflow)
                return DomainError.InvalidToken("ci_config_ref_uri is not '{host}/{project}//{config path}@{ref}'.");
            return new WorkloadIdentity(issuer, project!, path[(slash + 1)..split], workflow, Claim("ref_path") ?? Claim("ref"), Claim("sha"),
                Claim("pipeline_id"), Claim("environment"));
        }
    }

    private static byte[]? Decode(string? text)
    {
        if (string.IsNullOrEmpty(text) || !Base64Url.IsValid(text)) return null;
        var buffer = new byte[Base64Url.GetMaxDecodedLength(text.Length)];
        return Base64Url.TryDecodeFromChars(text, buffer, out var written) ? buffer[..written] : null;
    }
}
