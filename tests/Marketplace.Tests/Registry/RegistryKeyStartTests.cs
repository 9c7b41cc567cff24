using System.Security.Cryptography;
using System.Text.Json;
using Amazon.Runtime;
using Marketplace.Functions;
using Marketplace.Functions.Registry;
using Marketplace.Functions.Serverless;
using Marketplace.Signing;
using Marketplace.Tests.Deployment;
using Marketplace.Tests.Serverless;
using Marketplace.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NSec.Cryptography;

namespace Marketplace.Tests.Registry;

/// <summary>The registry signing key: configured, from its secret, or a start that fails outside Development.</summary>
public sealed class RegistryKeyStartTests
{
    private static readonly string Seed = Convert.ToBase64String(SHA256.HashData("registry key start tests"u8));

    private static WebApplication Build(string environment, Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Marketplace"] = TestEnvironment.Postgres,
            ["Marten:Schema"] = "rk_" + Guid.NewGuid().ToString("n")[..12],
            ["Marten:ApplySchemaOnStartup"] = "false",
            ["Marten:Daemon"] = "Disabled",
            ["Blobs:Store"] = "file",
            ["Blobs:File:Root"] = Path.Combine(Path.GetTempPath(), "mkt-rk-" + Guid.NewGuid().ToString("n")[..8]),
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddMarketplace(builder.Configuration);
        var app = builder.Build();
        app.MapMarketplace();
        return app;
    }

    private static string PublicKeyOf(string seed)
    {
        using var key = Key.Import(SignatureAlgorithm.Ed25519, Convert.FromBase64String(seed), KeyBlobFormat.RawPrivateKey);
        return Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    [Fact]
    public async Task a_host_outside_development_without_the_registry_key_fails_to_start_with_a_clear_message()
    {
        await using var app = Build("Production", []);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());
        Assert.Contains("registry signing key is not configured (environment Production)", error.Message, StringComparison.Ordinal);
        Assert.Contains(RegistryKey.SeedKey, error.Message, StringComparison.Ordinal);
        Assert.Contains(RegistryKey.SecretArnKey, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_host_outside_development_with_the_key_builds_it_at_start()
    {
        await using var app = Build("Production", new() { [RegistryKey.SeedKey] = Seed });
        // What StartAsync does first: build every hosted service, the key check among them.
        Assert.NotEmpty(app.Services.GetServices<IHostedService>());
        var key = app.Services.GetRequiredService<RegistryKey>();
        Assert.Equal(PublicKeyOf(Seed), key.Public.PublicKey);
    }

    [Fact]
    public async Task only_development_makes_a_throwaway_key()
    {
        await using var app = Build("Development", []);
        Assert.NotEmpty(app.Services.GetServices<IHostedService>());
        Assert.True(app.Services.GetRequiredService<RegistryKey>().Present);
    }

    [Fact]
    public async Task a_function_that_never_signs_starts_without_the_key_and_refuses_to_sign()
    {
        await using var app = Build("Production", new() { [RegistryKey.RequiredKey] = "false" });
        Assert.NotEmpty(app.Services.GetServices<IHostedService>());
        var key = app.Services.GetRequiredService<RegistryKey>();
        Assert.False(key.Present);
        var error = Assert.Throws<InvalidOperationException>(() => key.Key);
        Assert.Contains("holds no registry signing key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task the_key_is_read_from_its_secrets_manager_secret_with_one_signed_call()
    {
        const string arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:marketplace/registry-key-AbCdEf";
        var calls = new List<string>();
        await using var endpoint = await DatabaseSecretTests.FakeSecretsManager.StartAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            calls.Add($"{context.Request.Headers["X-Amz-Target"]} {JsonDocument.Parse(body).RootElement.GetProperty("SecretId").GetString()} {context.Request.Headers.Authorization.ToString().Split(' ')[0]}");
            context.Response.ContentType = "application/x-amz-json-1.1";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { ARN = arn, SecretString = Seed + "\n" }));
        });
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [RegistryKey.SecretArnKey] = arn }).Build();
        var production = new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = "Production" };

        var seed = await Task.Run(() => RegistryKey.Seed(configuration, production,
            a => DatabaseConnection.ReadSecret(a, endpoint.Url, new BasicAWSCredentials("AKIDEXAMPLE", "secret"))));

        Assert.Equal([$"secretsmanager.GetSecretValue {arn} AWS4-HMAC-SHA256"], calls);
        using var key = RegistryKey.FromSeed(seed);
        Assert.Equal(PublicKeyOf(Seed), key.Public.PublicKey);
    }

    [Fact]
    public void infra_run_passes_its_persistent_key_file()
    {
        var run = Repository.Read("infra", "run");
        Assert.Contains("registry.key", run, StringComparison.Ordinal);
        Assert.Contains("export Registry__SigningKey=\"${Registry__SigningKey:-$(cat \"$DATA/registry.key\")}\"", run, StringComparison.Ordinal);
        // infra/run starts in Production: without that line the app would now refuse to start.
        Assert.Contains("ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Production}", run, StringComparison.Ordinal);
    }
}
