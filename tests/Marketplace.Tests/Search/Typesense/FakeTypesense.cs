using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Marketplace.Tests.Search.Typesense;

/// <summary>One request as the fake received it.</summary>
public sealed record TypesenseRequest(string Method, string Path, IReadOnlyDictionary<string, string> Query, string? ApiKey, string? ContentType, string Body, int Status)
{
    public IReadOnlyList<JsonObject> JsonLines => Body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
}

/// <summary>
/// Plays a Typesense node on 127.0.0.1 with a random port: a real Kestrel server, inside the test. It keeps
/// collections, documents and aliases in memory, records every request, refuses calls without the API key, and
/// answers in the shapes typesense.org/docs/30.1/api documents — import answers one JSONL result line per document,
/// always with HTTP 200 — with failures on demand: <c>success:false</c> lines for chosen documents, 503s.
/// </summary>
public sealed class FakeTypesense : IAsyncDisposable
{
    public const string Key = "fake-typesense-key";

    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, (JsonObject Schema, Dictionary<string, JsonObject> Documents)> _collections = [];
    private readonly Dictionary<string, string> _aliases = [];
    private readonly ConcurrentQueue<TypesenseRequest> _requests = new();
    private int _importOutages;

    private FakeTypesense(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public IReadOnlyList<TypesenseRequest> Requests => [.. _requests];

    /// <summary>GET /health answers 503 <c>{"ok":false}</c> when false.</summary>
    public bool Healthy { get; set; } = true;

    /// <summary>Documents with these ids get a <c>success:false</c> line (with this error) until removed.</summary>
    public ConcurrentDictionary<string, string> Rejections { get; } = new();

    /// <summary>How many of the next imports are answered 503 <c>{"message":"Not Ready or Lagging"}</c>.</summary>
    public int ImportOutages
    {
        get => Volatile.Read(ref _importOutages);
        set => Volatile.Write(ref _importOutages, value);
    }

    /// <summary>How long every answer is held back (a slow or hung node).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>The body of search answers; null = every document of the collection, unranked.</summary>
    public string? SearchAnswer { get; set; }

    /// <summary>Answers to search with this status and <c>{"message": …}</c> when set.</summary>
    public (int Status, string Message)? SearchFailure { get; set; }

    public static async Task<FakeTypesense> StartAsync()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeTypesense(app, $"http://127.0.0.1:{port}");
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        return fake;
    }

    public string? AliasTarget(string alias)
    {
        lock (_gate) return _aliases.GetValueOrDefault(alias);
    }

    public IReadOnlyList<string> CollectionNames
    {
        get { lock (_gate) return [.. _collections.Keys]; }
    }

    /// <summary>A document of a collection (or of the collection an alias points to), as stored.</summary>
    public JsonObject? Document(string collection, string id)
    {
        lock (_gate)
        {
            var name = _aliases.GetValueOrDefault(collection) ?? collection;
            return _collections.TryGetValue(name, out var c) && c.Documents.TryGetValue(id, out var d) ? (JsonObject)d.DeepClone() : null;
        }
    }

    public IReadOnlyList<string> DocumentIds(string collection)
    {
        lock (_gate)
        {
            var name = _aliases.GetValueOrDefault(collection) ?? collection;
            return _collections.TryGetValue(name, out var c) ? [.. c.Documents.Keys] : [];
        }
    }

    /// <summary>Imports whose body held the document with this id.</summary>
    public IReadOnlyList<TypesenseRequest> ImportsOf(string id) => Requests
        .Where(r => r.Method == "POST" && r.Path.EndsWith("/documents/import", StringComparison.Ordinal)
                    && r.Body.Split('\n').Any(l => l.Contains($"\"id\":\"{id}\"", StringComparison.Ordinal)))
        .ToList();

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var query = request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
        var key = request.Headers.TryGetValue("X-TYPESENSE-API-KEY", out var k) ? k.ToString() : null;
        if (Delay > TimeSpan.Zero) await Task.Delay(Delay, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        var (status, answer, contentType) = Answer(request.Method, request.Path.Value ?? "", query, key, body);
        _requests.Enqueue(new TypesenseRequest(request.Method, request.Path.Value ?? "", query, key, request.ContentType, body, status));
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(answer);
    }

    private (int Status, string Body, string ContentType) Answer(string method, string path, Dictionary<string, string> query, string? key, string body)
    {
        const string json = "application/json; charset=utf-8";
        static string Message(string message) => new JsonObject { ["message"] = message }.ToJsonString();

        if (path == "/health" && method == "GET")
            return Healthy ? (200, """{"ok":true}""", json) : (503, """{"ok":false}""", json);
        if (key != Key)
            return (401, Message("Forbidden - a valid `x-typesense-api-key` header must be sent."), json);

        var parts = path.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        lock (_gate)
        {
            switch (method, parts)
            {
                case ("POST", ["collections"]):
                {
                    var schema = JsonNode.Parse(body)!.AsObject();
                    var name = schema["name"]!.GetValue<string>();
                    if (_collections.ContainsKey(name))
                        return (409, Message($"A collection with name `{name}` already exists."), json);
                    _collections[name] = (schema, []);
                    var created = (JsonObject)schema.DeepClone();
                    created["num_documents"] = 0;
                    created["created_at"] = 1_700_000_000;
                    return (201, created.ToJsonString(), json);
                }
                case ("GET", ["collections", var c]):
                    return Resolve(c) is { } found
                        ? (200, Described(found), json)
                        : (404, Message("Not Found"), json);
                case ("DELETE", ["collections", var c]):
                {
                    if (!_collections.Remove(c, out var removed)) return (404, Message("Not Found"), json);
                    var described = (JsonObject)removed.Schema.DeepClone();
                    described["num_documents"] = removed.Documents.Count;
                    return (200, described.ToJsonString(), json);
                }
                case ("POST", ["collections", var c, "documents", "import"]):
                {
                    if (ImportOutages > 0)
                    {
                        ImportOutages--;
                        return (503, Message("Not Ready or Lagging"), json);
                    }
                    if (Resolve(c) is not { } name) return (404, Message($"Collection with name `{c}` not found."), json);
                    var action = query.GetValueOrDefault("action", "create");
                    var lines = body.Split('\n').Where(l => l.Length > 0).Select(line => Import(name, action, line));
                    return (200, string.Join('\n', lines), "text/plain; charset=utf-8");
                }
                case ("DELETE", ["collections", var c, "documents"]):
                {
                    if (Resolve(c) is not { } name) return (404, Message($"Collection with name `{c}` not found."), json);
                    var filter = query.GetValueOrDefault("filter_by", "");
                    if (!filter.StartsWith("id:[", StringComparison.Ordinal) || !filter.EndsWith(']'))
                        return (400, Message("Could not parse the filter query."), json);
                    var ids = filter[4..^1].Split(',', StringSplitOptions.TrimEntries);
                    var deleted = ids.Count(id => _collections[name].Documents.Remove(id));
                    return (200, new JsonObject { ["num_deleted"] = deleted }.ToJsonString(), json);
                }
                case ("GET", ["collections", var c, "documents", "search"]):
                {
                    if (Resolve(c) is not { } name) return (404, Message($"Collection with name `{c}` not found."), json);
                    if (SearchFailure is { } failure) return (failure.Status, Message(failure.Message), json);
                    if (!query.ContainsKey("q") || !query.ContainsKey("query_by"))
                        return (400, Message("Parameter `q` and `query_by` are required."), json);
                    return (200, SearchAnswer ?? Everything(name, query), json);
                }
                case ("PUT", ["aliases", var a]):
                {
                    var target = JsonNode.Parse(body)?["collection_name"]?.GetValue<string>();
                    if (target is null) return (400, Message("Parameter `collection_name` is required."), json);
                    _aliases[a] = target;
                    return (200, new JsonObject { ["name"] = a, ["collection_name"] = target }.ToJsonString(), json);
                }
                case ("GET", ["aliases", var a]):
                    return _aliases.TryGetValue(a, out var to)
                        ? (200, new JsonObject { ["name"] = a, ["collection_name"] = to }.ToJsonString(), json)
                        : (404, Message("Not Found"), json);
                default:
                    return (404, Message("Not Found"), json);
            }
        }
    }

    private string? Resolve(string collectionOrAlias)
    {
        var name = _aliases.GetValueOrDefault(collectionOrAlias) ?? collectionOrAlias;
        return _collections.ContainsKey(name) ? name : null;
    }

    private string Described(string name)
    {
        var described = (JsonObject)_collections[name].Schema.DeepClone();
        described["num_documents"] = _collections[name].Documents.Count;
        return described.ToJsonString();
    }

    /// <summary>One document of an import: the result line Typesense documents for it.</summary>
    private string Import(string collection, string action, string line)
    {
        string Failure(string error) => new JsonObject { ["success"] = false, ["error"] = error, ["document"] = line }.ToJsonString();
        JsonObject document;
        try
        {
            document = JsonNode.Parse(line)!.AsObject();
        }
        catch (JsonException)
        {
            return Failure("Bad JSON.");
        }
        var id = document["id"]?.GetValue<string>();
        if (id is null) return Failure("Document is missing the `id` field.");
        if (Rejections.TryGetValue(id, out var rejection)) return Failure(rejection);
        var (schema, documents) = _collections[collection];
        foreach (var field in schema["fields"]!.AsArray())
        {
            var name = field!["name"]!.GetValue<string>();
            if (field["optional"]?.GetValue<bool>() != true && document[name] is null)
                return Failure($"Field `{name}` has been declared in the schema, but is not found in the document.");
        }
        if (action == "create" && documents.ContainsKey(id)) return Failure($"A document with id {id} already exists.");
        documents[id] = document;
        return """{"success":true}""";
    }

    private string Everything(string collection, Dictionary<string, string> query)
    {
        var documents = _collections[collection].Documents.Values.ToList();
        var hits = new JsonArray(documents.Select(d => (JsonNode)new JsonObject
        {
            ["document"] = d.DeepClone(),
            ["highlight"] = new JsonObject(),
            ["text_match"] = 100,
        }).ToArray());
        return new JsonObject
        {
            ["facet_counts"] = new JsonArray(),
            ["found"] = documents.Count,
            ["hits"] = hits,
            ["out_of"] = documents.Count,
            ["page"] = 1,
            ["request_params"] = new JsonObject { ["collection_name"] = collection, ["per_page"] = 10, ["q"] = query["q"] },
            ["search_cutoff"] = false,
            ["search_time_ms"] = 0,
        }.ToJsonString();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
