using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Marketplace.Functions.Search.Typesense;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Marketplace.Tests.Search.Typesense;

/// <summary>The typed client against the in-test Typesense: request shapes, per-line import results, retries, errors.</summary>
public sealed class TypesenseClientTests : IAsyncLifetime
{
    private FakeTypesense _typesense = null!;

    public async Task InitializeAsync() => _typesense = await FakeTypesense.StartAsync();

    public async Task DisposeAsync() => await _typesense.DisposeAsync();

    public static TypesenseClient Client(string url, int retries = 3, TimeSpan? timeout = null)
    {
        var options = Options.Create(new TypesenseOptions
        {
            Url = url,
            ApiKey = FakeTypesense.Key,
            Retries = retries,
            RetryDelay = TimeSpan.FromMilliseconds(5),
            Timeout = timeout ?? TimeSpan.FromSeconds(5),
            ImportTimeout = timeout ?? TimeSpan.FromSeconds(5),
        });
        return new TypesenseClient(new HttpClient(), options, new TypesenseApiKey(options), NullLogger<TypesenseClient>.Instance);
    }

    private static string Line(string id) => TypesenseSchema.Line(new TypesenseDocument(id, id, id, "1.0.0", "A package", ["cli"], ["tools"], ["Ada"], "MIT", 3, 1_700_000_000));

    [Fact]
    public async Task an_import_reads_every_result_line_and_a_rejected_document_is_a_failed_item()
    {
        var client = Client(_typesense.Url);
        await client.CreateCollectionAsync(TypesenseSchema.For("packages_1"), default);
        _typesense.Rejections["beta"] = "Field `downloads` must be an int64.";
        string[] lines = [Line("alpha"), Line("beta"), Line("gamma")];

        var results = await client.ImportAsync("packages_1", lines, default);

        Assert.Equal([true, false, true], results.Select(r => r.Success));
        Assert.Equal("Field `downloads` must be an int64.", results[1].Error);
        Assert.Equal(lines[1], results[1].Document);
        var import = Assert.Single(_typesense.Requests, r => r.Path == "/collections/packages_1/documents/import");
        Assert.Equal("POST", import.Method);
        Assert.Equal(new Dictionary<string, string> { ["action"] = "upsert" }, import.Query);
        Assert.Equal(FakeTypesense.Key, import.ApiKey);
        Assert.StartsWith("text/plain", import.ContentType, StringComparison.Ordinal);
        Assert.Equal(string.Join('\n', lines), import.Body);
        Assert.Equal(["alpha", "gamma"], _typesense.DocumentIds("packages_1").Order());
    }

    [Fact]
    public async Task a_503_is_retried_and_the_import_then_goes_through()
    {
        var client = Client(_typesense.Url, retries: 3);
        await client.CreateCollectionAsync(TypesenseSchema.For("packages_1"), default);
        _typesense.ImportOutages = 2;

        var results = await client.ImportAsync("packages_1", [Line("alpha")], default);

        Assert.True(Assert.Single(results).Success);
        Assert.Equal([503, 503, 200], _typesense.Requests.Where(r => r.Path.EndsWith("/import", StringComparison.Ordinal)).Select(r => r.Status));
    }

    [Fact]
    public async Task a_503_that_outlasts_the_retries_is_a_typesense_exception_with_status_and_message()
    {
        var client = Client(_typesense.Url, retries: 2);
        await client.CreateCollectionAsync(TypesenseSchema.For("packages_1"), default);
        _typesense.ImportOutages = 10;

        var error = await Assert.ThrowsAsync<TypesenseException>(() => client.ImportAsync("packages_1", [Line("alpha")], default));

        Assert.Equal(503, error.StatusCode);
        Assert.Equal("Not Ready or Lagging", error.TypesenseMessage);
        Assert.True(error.IsTransient);
        Assert.Equal(3, _typesense.Requests.Count(r => r.Path.EndsWith("/import", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task a_refusal_carries_typesense_status_and_message_and_is_not_retried()
    {
        var client = Client(_typesense.Url);

        var error = await Assert.ThrowsAsync<TypesenseException>(() => client.ImportAsync("nowhere", [Line("alpha")], default));

        Assert.Equal(404, error.StatusCode);
        Assert.Equal("Collection with name `nowhere` not found.", error.TypesenseMessage);
        Assert.False(error.IsTransient);
        Assert.Single(_typesense.Requests, r => r.Path.EndsWith("/import", StringComparison.Ordinal));
    }

    [Fact]
    public async Task an_unreachable_node_is_a_typesense_exception_without_status_naming_the_url()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}";
        var error = await Assert.ThrowsAsync<TypesenseException>(() => Client(url, retries: 1).HealthAsync(default));
        Assert.Null(error.StatusCode);
        Assert.Contains(url, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_node_that_does_not_answer_in_time_is_a_typesense_exception_never_a_cancellation()
    {
        // Marten's daemon reads an OperationCanceledException as "stopping": a timeout must not look like one.
        // The collection is made with the usual time bound: with 200 ms a busy machine timed the create out, the
        // retry found the collection the first attempt had made, and the test failed on a 409 before its point.
        await Client(_typesense.Url).CreateCollectionAsync(TypesenseSchema.For("packages_1"), default);
        var client = Client(_typesense.Url, retries: 1, timeout: TimeSpan.FromMilliseconds(200));
        _typesense.Delay = TimeSpan.FromSeconds(5);

        var error = await Record.ExceptionAsync(() => client.ImportAsync("packages_1", [Line("alpha")], default));

        var refused = Assert.IsType<TypesenseException>(error);
        Assert.Null(refused.StatusCode);
        Assert.True(refused.IsTransient);
    }

    [Fact]
    public async Task collections_and_aliases_are_created_read_repointed_and_dropped_as_documented()
    {
        var client = Client(_typesense.Url);

        Assert.Null(await client.GetAliasAsync("packages", default));
        await client.CreateCollectionAsync(TypesenseSchema.For("packages_1"), default);
        await client.CreateCollectionAsync(TypesenseSchema.For("packages_2"), default);
        await client.UpsertAliasAsync("packages", "packages_1", default);
        Assert.Equal("packages_1", await client.GetAliasAsync("packages", default));
        await client.UpsertAliasAsync("packages", "packages_2", default);
        Assert.Equal("packages_2", await client.GetAliasAsync("packages", default));
        await client.ImportAsync("packages", [Line("alpha")], default);
        Assert.Equal(new TypesenseCollection("packages_2", 1), await client.GetCollectionAsync("packages_2", default));
        Assert.Equal(1, await client.DeleteDocumentsAsync("packages", ["alpha", "never-there"], default));
        Assert.True(await client.DeleteCollectionAsync("packages_1", default));
        Assert.False(await client.DeleteCollectionAsync("packages_1", default));
        Assert.Null(await client.GetCollectionAsync("packages_1", default));
        var duplicate = await Assert.ThrowsAsync<TypesenseException>(() => client.CreateCollectionAsync(TypesenseSchema.For("packages_2"), default));
        Assert.Equal(409, duplicate.StatusCode);

        var put = _typesense.Requests.First(r => r.Method == "PUT");
        Assert.Equal("/aliases/packages", put.Path);
        Assert.Equal("""{"collection_name":"packages_1"}""", put.Body);
        var create = _typesense.Requests.First(r => r.Method == "POST" && r.Path == "/collections");
        Assert.StartsWith("application/json", create.ContentType, StringComparison.Ordinal);
        var delete = _typesense.Requests.Single(r => r is { Method: "DELETE", Path: "/collections/packages/documents" });
        Assert.Equal("id:[alpha,never-there]", delete.Query["filter_by"]);
        Assert.All(_typesense.Requests, r => Assert.Equal(FakeTypesense.Key, r.ApiKey));
    }

    [Fact]
    public async Task health_reports_ok_and_a_node_that_is_not_ready()
    {
        var client = Client(_typesense.Url, retries: 1);
        Assert.Equal(new TypesenseHealth(true, null), await client.HealthAsync(default));
        _typesense.Healthy = false;
        Assert.Equal(new TypesenseHealth(false, null), await client.HealthAsync(default));
    }

    [Fact]
    public void the_schema_declares_every_field_the_documents_carry()
    {
        var schema = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(TypesenseSchema.For("packages_1"), TypesenseClient.Json))!;
        var expected = JsonNode.Parse("""
            {"name":"packages_1","fields":[
              {"name":"name","type":"string"},
              {"name":"display_name","type":"string","optional":true,"index":false},
              {"name":"version","type":"string","optional":true,"index":false},
              {"name":"description","type":"string","optional":true},
              {"name":"keywords","type":"string[]","facet":true,"optional":true},
              {"name":"categories","type":"string[]","facet":true,"optional":true},
              {"name":"authors","type":"string[]","facet":true,"optional":true},
              {"name":"license","type":"string","facet":true,"optional":true},
              {"name":"downloads","type":"int64","sort":true},
              {"name":"updated_at","type":"int64","sort":true}],
             "default_sorting_field":"downloads","token_separators":["-","_"]}
            """);
        Assert.True(JsonNode.DeepEquals(expected, schema), schema.ToJsonString());
        var document = JsonNode.Parse(Line("alpha"))!.AsObject();
        Assert.Equal(["id", "name", "display_name", "version", "description", "keywords", "categories", "authors", "license", "downloads", "updated_at"],
            document.Select(p => p.Key));
    }

    public static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
