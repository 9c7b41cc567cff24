using System.Text;
using System.Text.Json;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.Runtime.Signing;
using Npgsql;

namespace Marketplace.Functions.Serverless;

/// <summary>
/// The PostgreSQL connection string: <c>ConnectionStrings:Marketplace</c> when set (local runs, tests, Azure, where
/// a Key Vault reference fills it), else the AWS Secrets Manager secret named by <c>Database:SecretArn</c>, read
/// once per process when the Marten store is first built. The secret is either a plain connection string or the
/// JSON RDS writes (<c>host</c>, <c>port</c>, <c>username</c>, <c>password</c>, <c>dbname</c>), completed by
/// <c>Database:ConnectionOptions</c> (TLS mode, pool size). The SDK for Secrets Manager is not needed: one
/// SigV4-signed <c>GetSecretValue</c> call through AWSSDK.Core's signing handler, with the default credential chain
/// (a function's role on Lambda).
/// </summary>
public static class DatabaseConnection
{
    public const string ConnectionStringKey = "Marketplace";
    public const string SecretArnKey = "Database:SecretArn";

    /// <summary>Fails at registration, not at first use, when neither source is configured.</summary>
    public static void EnsureConfigured(IConfiguration configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString(ConnectionStringKey))
            && string.IsNullOrWhiteSpace(configuration[SecretArnKey]))
            throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionStringKey} is not set (nor {SecretArnKey}, an AWS Secrets Manager secret holding it).");
    }

    public static string Resolve(IConfiguration configuration)
    {
        if (configuration.GetConnectionString(ConnectionStringKey) is { Length: > 0 } direct)
            return direct;
        EnsureConfigured(configuration);
        var secret = ReadSecret(configuration[SecretArnKey]!, configuration["Database:SecretsEndpoint"], credentials: null);
        return FromSecret(secret, configuration["Database:ConnectionOptions"]);
    }

    /// <summary>Statements Npgsql prepares per connection, unless the connection string sets <c>Max Auto Prepare</c> itself.</summary>
    public const int DefaultMaxAutoPrepare = 64;

    /// <summary>
    /// The connection string with the registry's Npgsql defaults where it sets nothing else: automatic preparation of
    /// the statements a connection repeats. The write path and the daemon send the same few dozen statements over and
    /// over; prepared, PostgreSQL skips their parsing and planning (a quarter of its CPU per publish, measured with
    /// 16 publishers). The pool's reset keeps prepared statements (Npgsql resets without DEALLOCATE).
    /// </summary>
    public static string WithDefaults(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        static bool IsAutoPrepare(string key) =>
            key.Replace(" ", "", StringComparison.Ordinal).Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase);
        if (given.Keys.Cast<string>().Any(IsAutoPrepare)) return connectionString;
        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = DefaultMaxAutoPrepare }.ConnectionString;
    }

    /// <summary>A plain connection string as is; RDS's JSON secret as a connection string plus <paramref name="options"/>.</summary>
    public static string FromSecret(string secret, string? options)
    {
        var trimmed = secret.TrimStart();
        if (!trimmed.StartsWith('{'))
            return secret;
        using var json = JsonDocument.Parse(trimmed);
        var root = json.RootElement;
        string? Text(string name) =>
            root.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.Number ? v.GetRawText() : v.GetString() : null;
        var builder = new NpgsqlConnectionStringBuilder(options ?? "")
        {
            Host = Text("host") ?? throw new InvalidOperationException("The database secret has no host."),
            Username = Text("username") ?? throw new InvalidOperationException("The database secret has no username."),
            Password = Text("password") ?? throw new InvalidOperationException("The database secret has no password."),
            Database = Text("dbname") ?? Text("database") ?? "marketplace",
        };
        if (Text("port") is { } port)
            builder.Port = int.Parse(port, System.Globalization.CultureInfo.InvariantCulture);
        return builder.ConnectionString;
    }

    /// <summary>
    /// <c>secretsmanager:GetSecretValue</c> for <paramref name="arn"/> in the ARN's region (or at
    /// <paramref name="endpoint"/>, a test double), signed with <paramref name="credentials"/> or the default chain.
    /// </summary>
    public static string ReadSecret(string arn, string? endpoint, AWSCredentials? credentials)
    {
        var parts = arn.Split(':');
        if (parts.Length < 7 || parts[0] != "arn" || parts[2] != "secretsmanager")
            throw new InvalidOperationException($"{SecretArnKey} is not a Secrets Manager ARN: {arn}");
        var region = parts[3];
        var uri = new Uri(endpoint ?? $"https://secretsmanager.{region}.{(parts[1] == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com")}/");
        credentials ??= new DefaultAWSCredentialsIdentityResolver().ResolveIdentity(null);

        using var signing = new SigV4SigningHandler(credentials, RegionEndpoint.GetBySystemName(region), "secretsmanager", new SocketsHttpHandler());
        using var client = new HttpClient(signing) { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, string> { ["SecretId"] = arn }), Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.1");
        request.Headers.Add("X-Amz-Target", "secretsmanager.GetSecretValue");
        // Once per process, before the first query: a synchronous call keeps the Marten options factory synchronous.
        using var response = client.Send(request);
        using var body = response.Content.ReadAsStream();
        using var json = JsonDocument.Parse(body);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"Secrets Manager answered {(int)response.StatusCode} for {arn}: {json.RootElement.GetRawText()}");
        return json.RootElement.TryGetProperty("SecretString", out var value) && value.GetString() is { } text
            ? text
            : throw new InvalidOperationException($"The secret {arn} has no SecretString.");
    }
}
