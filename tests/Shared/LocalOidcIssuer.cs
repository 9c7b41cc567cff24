using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Marketplace.Tests.Shared;

/// <summary>
/// An OIDC issuer served by the test on a loopback port: its discovery document, its JWKS (an RSA and a P-256 key; more
/// can be added, as a rotation would) and ID tokens minted here, RS256 or ES256 (or, for refusals, <c>none</c> and HS256
/// keyed with the public key). It also plays GitHub's token endpoint (<c>ACTIONS_ID_TOKEN_REQUEST_URL</c>): a GET with
/// <c>Authorization: bearer {RequestToken}</c> and <c>audience=</c> answers <c>{"value": jwt}</c>.
/// </summary>
public sealed class LocalOidcIssuer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(string Kid, AsymmetricAlgorithm Key)> _keys = [];
    private readonly Lock _lock = new();
    private int _jwksFetches;

    private LocalOidcIssuer(WebApplication app, string path)
    {
        _app = app;
        _path = path;
        AddRsaKey("rsa-1");
        AddEcKey("ec-1");
    }

    private readonly string _path;

    /// <summary>The issuer URL (<c>iss</c>), e.g. <c>http://127.0.0.1:41234/github</c>.</summary>
    public string Issuer { get; private set; } = "";

    /// <summary>What the fake GitHub token endpoint wants in <c>Authorization: bearer …</c>.</summary>
    public string RequestToken { get; } = "req-" + Guid.NewGuid().ToString("n");

    /// <summary>The claims the fake GitHub token endpoint puts in the tokens it hands out (with the asked audience).</summary>
    public Func<string, Dictionary<string, object?>>? GitHubJob { get; set; }

    public int JwksFetches => Volatile.Read(ref _jwksFetches);

    public string TokenEndpoint => $"{Issuer}/actions-token?api-version=2.0";

    public static async Task<LocalOidcIssuer> StartAsync(string path = "/issuer")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var issuer = new LocalOidcIssuer(app, path);
        app.MapGet(path + "/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer.Issuer,
            ["jwks_uri"] = issuer.Issuer + "/jwks",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256", "ES256" },
        }));
        app.MapGet(path + "/jwks", () =>
        {
            Interlocked.Increment(ref issuer._jwksFetches);
            return Results.Json(new { keys = issuer.Jwks() });
        });
        app.MapGet(path + "/actions-token", (HttpContext http) =>
        {
            if (http.Request.Headers.Authorization.ToString() != "bearer " + issuer.RequestToken || issuer.GitHubJob is null)
                return Results.StatusCode(401);
            var audience = http.Request.Query["audience"].ToString();
            return Results.Json(new { count = 1, value = issuer.Mint(issuer.GitHubJob(audience)) });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        issuer.Issuer = address.TrimEnd('/') + path;
        return issuer;
    }

    public void AddRsaKey(string kid)
    {
        lock (_lock) _keys.Add((kid, RSA.Create(2048)));
    }

    public void AddEcKey(string kid)
    {
        lock (_lock) _keys.Add((kid, ECDsa.Create(ECCurve.NamedCurves.nistP256)));
    }

    private List<Dictionary<string, string>> Jwks()
    {
        lock (_lock)
            return _keys.Select(k => k.Key switch
            {
                RSA rsa => Rsa(k.Kid, rsa),
                ECDsa ec => Ec(k.Kid, ec),
                _ => throw new InvalidOperationException(),
            }).ToList();
    }

    private static Dictionary<string, string> Rsa(string kid, RSA rsa)
    {
        var p = rsa.ExportParameters(false);
        return new() { ["kty"] = "RSA", ["kid"] = kid, ["use"] = "sig", ["alg"] = "RS256", ["n"] = B64(p.Modulus!), ["e"] = B64(p.Exponent!) };
    }

    private static Dictionary<string, string> Ec(string kid, ECDsa ec)
    {
        var p = ec.ExportParameters(false);
        return new() { ["kty"] = "EC", ["kid"] = kid, ["use"] = "sig", ["alg"] = "ES256", ["crv"] = "P-256", ["x"] = B64(p.Q.X!), ["y"] = B64(p.Q.Y!) };
    }

    /// <summary>A GitHub Actions job's claims, valid now for five minutes.</summary>
    public Dictionary<string, object?> GitHubClaims(string audience, string repository = "octo-org/widgets", string workflow = "release.yml",
        string? environment = null, string? workflowRepository = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new Dictionary<string, object?>
        {
            ["iss"] = Issuer, ["aud"] = audience, ["sub"] = $"repo:{repository}:ref:refs/heads/main",
            ["jti"] = Guid.NewGuid().ToString(), ["iat"] = now, ["nbf"] = now, ["exp"] = now + 300,
            ["repository"] = repository, ["repository_owner"] = repository.Split('/')[0], ["ref"] = "refs/tags/v1.0.0",
            ["sha"] = "0123456789abcdef0123456789abcdef01234567", ["run_id"] = "4242", ["workflow"] = "Release",
            ["job_workflow_ref"] = $"{workflowRepository ?? repository}/.github/workflows/{workflow}@refs/tags/v1.0.0",
            ["environment"] = environment,
        };
    }

    /// <summary>A GitLab CI job's claims, valid now for five minutes.</summary>
    public Dictionary<string, object?> GitLabClaims(string audience, string project = "group/widgets", string config = ".gitlab-ci.yml", string? environment = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new Dictionary<string, object?>
        {
            ["iss"] = Issuer, ["aud"] = audience, ["sub"] = $"project_path:{project}:ref_type:tag:ref:v1.0.0",
            ["jti"] = Guid.NewGuid().ToString(), ["iat"] = now, ["nbf"] = now, ["exp"] = now + 300,
            ["project_path"] = project, ["ref"] = "v1.0.0", ["ref_path"] = "refs/tags/v1.0.0", ["sha"] = "89abcdef0123456789abcdef0123456789abcdef",
            ["pipeline_id"] = "777", ["ci_config_ref_uri"] = $"gitlab.example.com/{project}//{config}@refs/tags/v1.0.0", ["environment"] = environment,
        };
    }

    /// <summary>
    /// A token with these claims (null values left out), signed by the key <paramref name="kid"/> (default: the first of
    /// <paramref name="alg"/>'s kind); <c>none</c> signs nothing, HS256 uses the RSA key's public PEM as the HMAC secret.
    /// </summary>
    public string Mint(Dictionary<string, object?> claims, string alg = "RS256", string? kid = null, string? headerKid = null)
    {
        (string Kid, AsymmetricAlgorithm Key) key;
        lock (_lock)
            key = kid is not null
                ? _keys.First(k => k.Kid == kid)
                : _keys.First(k => alg == "ES256" ? k.Key is ECDsa : k.Key is RSA);
        var header = new Dictionary<string, object> { ["alg"] = alg, ["typ"] = "JWT", ["kid"] = headerKid ?? key.Kid };
        var input = B64(JsonSerializer.SerializeToUtf8Bytes(header)) + "." +
                    B64(JsonSerializer.SerializeToUtf8Bytes(claims.Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value)));
        var bytes = Encoding.ASCII.GetBytes(input);
        var signature = alg switch
        {
            "RS256" => ((RSA)key.Key).SignData(bytes, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            "ES256" => ((ECDsa)key.Key).SignData(bytes, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
            "HS256" => HMACSHA256.HashData(Encoding.ASCII.GetBytes(((RSA)key.Key).ExportSubjectPublicKeyInfoPem()), bytes),
            "none" => [],
            _ => throw new ArgumentException(alg),
        };
        return input + "." + B64(signature);
    }

    /// <summary>A key of the same kind this issuer never published (a forged token).</summary>
    public static string MintWithStrangerKey(string validToken)
    {
        using var stranger = RSA.Create(2048);
        var input = validToken[..validToken.LastIndexOf('.')];
        return input + "." + B64(stranger.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        lock (_lock)
            foreach (var (_, key) in _keys) key.Dispose();
    }
}
