using Alba;
using Marketplace.Testing;
using Marketplace.Tests.Support;

namespace Marketplace.Tests.Search.Typesense;

/// <summary>With Typesense selected, the app does not start unless <c>GET /health</c> answers <c>{"ok":true}</c>.</summary>
public sealed class TypesenseStartupScenarios
{
    private static async Task<Exception?> StartAsync(string url)
    {
        var schema = "t_" + Guid.NewGuid().ToString("n")[..12];
        var root = Path.Combine(Path.GetTempPath(), "mkt-blobs-" + Guid.NewGuid().ToString("n")[..12]);
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Marketplace"] = TestEnvironment.Postgres,
            ["Marten:Schema"] = schema,
            ["Blobs:Store"] = "file",
            ["Blobs:File:Root"] = root,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Typesense:Url"] = url,
            ["Typesense:ApiKey"] = FakeTypesense.Key,
            ["Typesense:Retries"] = "1",
            ["Typesense:RetryDelay"] = "00:00:00.010",
        };
        try
        {
            await using var host = await AlbaHost.For<Program>(b =>
            {
                foreach (var (k, v) in settings) b.UseSetting(k, v);
            });
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
        finally
        {
            await TestDatabase.DropSchemaAsync(schema);
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task startup_fails_naming_the_url_when_typesense_is_unreachable()
    {
        var url = $"http://127.0.0.1:{TypesenseClientTests.ClosedPort()}";

        var error = await StartAsync(url);

        Assert.NotNull(error);
        var message = error.ToString();
        Assert.Contains($"Typesense is the search adapter, but {url}/health could not be checked", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task startup_fails_when_typesense_answers_that_it_is_not_ready()
    {
        await using var typesense = await FakeTypesense.StartAsync();
        typesense.Healthy = false;

        var error = await StartAsync(typesense.Url);

        Assert.NotNull(error);
        Assert.Contains($"{typesense.Url}/health answered ok=false", error.ToString(), StringComparison.Ordinal);
        Assert.All(typesense.Requests, r => Assert.Equal("/health", r.Path));
    }

    [Fact]
    public async Task startup_succeeds_against_a_healthy_node()
    {
        await using var typesense = await FakeTypesense.StartAsync();

        var error = await StartAsync(typesense.Url);

        Assert.Null(error);
        Assert.NotNull(typesense.AliasTarget("packages"));
    }
}
