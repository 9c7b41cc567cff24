using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Marketplace.Functions.Serverless;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Marketplace.Tests.Serverless;

/// <summary>The connection string read from Secrets Manager, against an in-test endpoint that checks the request AWS documents.</summary>
public sealed class DatabaseSecretTests
{
    private const string Arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:marketplace/db-AbCdEf";

    [Fact]
    public async Task the_secret_is_read_with_one_signed_get_secret_value_call()
    {
        var seen = new List<(string Target, string? Authorization, string? Token, string Body, string? ContentType)>();
        var secret = """{"username":"app","password":"s3cr;et","engine":"postgres","host":"proxy.example","port":5432,"dbname":"registry"}""";
        await using var endpoint = await FakeSecretsManager.StartAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            seen.Add((context.Request.Headers["X-Amz-Target"].ToString(), context.Request.Headers.Authorization.ToString(),
                context.Request.Headers["X-Amz-Security-Token"].ToString(), await reader.ReadToEndAsync(), context.Request.ContentType));
            context.Response.ContentType = "application/x-amz-json-1.1";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { ARN = Arn, Name = "marketplace/db", SecretString = secret }));
        });

        var read = await Task.Run(() => DatabaseConnection.ReadSecret(Arn, endpoint.Url, new SessionAWSCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")));

        Assert.Equal(secret, read);
        var call = Assert.Single(seen);
        Assert.Equal("secretsmanager.GetSecretValue", call.Target);
        Assert.Equal("application/x-amz-json-1.1", call.ContentType);
        Assert.Equal(Arn, JsonDocument.Parse(call.Body).RootElement.GetProperty("SecretId").GetString());
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", call.Authorization, StringComparison.Ordinal);
        Assert.Contains("/eu-west-1/secretsmanager/aws4_request", call.Authorization, StringComparison.Ordinal);
        Assert.Contains("x-amz-target", call.Authorization, StringComparison.Ordinal);
        Assert.Equal("session-token", call.Token);

        var connection = new NpgsqlConnectionStringBuilder(DatabaseConnection.FromSecret(read, "SSL Mode=Require;Maximum Pool Size=4"));
        Assert.Equal(("proxy.example", 5432, "app", "s3cr;et", "registry", SslMode.Require, 4),
            (connection.Host, connection.Port, connection.Username, connection.Password, connection.Database, connection.SslMode, connection.MaxPoolSize));
    }

    [Fact]
    public async Task a_refused_read_fails_with_what_secrets_manager_said()
    {
        await using var endpoint = await FakeSecretsManager.StartAsync(async context =>
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync("""{"__type":"AccessDeniedException","Message":"not allowed"}""");
        });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Task.Run(() =>
            DatabaseConnection.ReadSecret(Arn, endpoint.Url, new BasicAWSCredentials("AKIDEXAMPLE", "secret"))));
        Assert.Contains("AccessDeniedException", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void a_plain_connection_string_secret_is_used_as_is_and_a_direct_setting_wins()
    {
        Assert.Equal("Host=db;Username=u;Password=p", DatabaseConnection.FromSecret("Host=db;Username=u;Password=p", "SSL Mode=Require"));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Marketplace"] = "Host=local",
            ["Database:SecretArn"] = Arn,
        }).Build();
        Assert.Equal("Host=local", DatabaseConnection.Resolve(configuration));
        Assert.Throws<InvalidOperationException>(() => DatabaseConnection.EnsureConfigured(new ConfigurationBuilder().Build()));
        Assert.Throws<InvalidOperationException>(() => DatabaseConnection.ReadSecret("arn:aws:s3:::bucket", null, new BasicAWSCredentials("a", "b")));
    }

    [Fact]
    public void statements_are_prepared_automatically_unless_the_connection_string_says_otherwise()
    {
        Assert.Equal(DatabaseConnection.DefaultMaxAutoPrepare,
            new NpgsqlConnectionStringBuilder(DatabaseConnection.WithDefaults("Host=db;Username=u;Password=p")).MaxAutoPrepare);
        Assert.Equal("Host=db;Max Auto Prepare=0", DatabaseConnection.WithDefaults("Host=db;Max Auto Prepare=0"));
        Assert.Equal("Host=db;maxautoprepare=5", DatabaseConnection.WithDefaults("Host=db;maxautoprepare=5"));
    }

    internal sealed class FakeSecretsManager : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private FakeSecretsManager(WebApplication app, string url) { _app = app; Url = url; }
        public string Url { get; }

        public static async Task<FakeSecretsManager> StartAsync(RequestDelegate handler)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
            var app = builder.Build();
            app.MapPost("/", handler);
            await app.StartAsync();
            return new FakeSecretsManager(app, $"http://127.0.0.1:{port}/");
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
