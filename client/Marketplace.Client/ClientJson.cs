using System.Text.Json;
using System.Text.Json.Serialization;

namespace Marketplace.Client;

/// <summary>The API's JSON: camelCase, nulls left out of what the client sends.</summary>
public static class ClientJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>For output meant for people and scripts (the CLI's <c>--json</c>).</summary>
    public static readonly JsonSerializerOptions Indented = new(Options) { WriteIndented = true };
}
