using YamlDotNet.RepresentationModel;

namespace Marketplace.Tests.Deployment;

/// <summary>
/// CloudFormation YAML as plain values: mappings become dictionaries, sequences lists, scalars strings (no type
/// guessing: CloudFormation reads "false" and false alike). The short-form intrinsic tags (<c>!Ref</c>, <c>!Sub</c>,
/// <c>!GetAtt</c>, <c>!If</c>, <c>!Join</c>, …) are not YAML types, so a plain deserializer refuses them; here they
/// become their long form, as CloudFormation reads them: <c>!Ref x</c> → <c>{Ref: x}</c>, <c>!GetAtt A.B</c> →
/// <c>{Fn::GetAtt: [A, B]}</c>, <c>!Name v</c> → <c>{Fn::Name: v}</c>.
/// </summary>
public static class CloudFormationYaml
{
    public static object? Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Convert(stream.Documents[0].RootNode);
    }

    private static object? Convert(YamlNode node)
    {
        object? value = node switch
        {
            YamlScalarNode scalar => scalar.Value,
            YamlSequenceNode sequence => sequence.Children.Select(Convert).ToList(),
            YamlMappingNode mapping => mapping.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => Convert(kv.Value), StringComparer.Ordinal),
            _ => throw new InvalidOperationException($"Unexpected YAML node {node.NodeType} at {node.Start}."),
        };
        if (node.Tag.IsEmpty || node.Tag.IsNonSpecific || !node.Tag.IsLocal)
            return value;
        var function = node.Tag.Value.TrimStart('!');
        return function switch
        {
            "Ref" => new Dictionary<string, object?> { ["Ref"] = value },
            "GetAtt" when value is string dotted => new Dictionary<string, object?> { ["Fn::GetAtt"] = dotted.Split('.', 2).Cast<object?>().ToList() },
            "Condition" => new Dictionary<string, object?> { ["Condition"] = value },
            _ => new Dictionary<string, object?> { ["Fn::" + function] = value },
        };
    }

    /// <summary>A reference or substitution as the text CloudFormation would substitute into: <c>${Blobs.Arn}/sha256/*</c>.</summary>
    public static string Render(object? value) => value switch
    {
        string s => s,
        IDictionary<string, object?> d when d.TryGetValue("Ref", out var r) => "${" + r + "}",
        IDictionary<string, object?> d when d.TryGetValue("Fn::Sub", out var s) => s as string ?? Render(((IList<object?>)s!)[0]),
        IDictionary<string, object?> d when d.TryGetValue("Fn::GetAtt", out var a) => "${" + string.Join('.', (IList<object?>)a!) + "}",
        _ => throw new InvalidOperationException($"Cannot render {value} as text."),
    };
}

/// <summary>Navigation over <see cref="CloudFormationYaml.Parse"/>'s values.</summary>
public static class Yaml
{
    public static IDictionary<string, object?> Map(this object? value, string key) =>
        value.MapOrNull(key) ?? throw new KeyNotFoundException($"No mapping '{key}'.");

    public static IDictionary<string, object?>? MapOrNull(this object? value, string key) =>
        value is IDictionary<string, object?> d && d.TryGetValue(key, out var v) ? v as IDictionary<string, object?> : null;

    public static string? Text(this object? value, string key) =>
        value is IDictionary<string, object?> d && d.TryGetValue(key, out var v) ? v as string : null;

    public static IEnumerable<object?> List(this object? value, string key) =>
        value is IDictionary<string, object?> d && d.TryGetValue(key, out var v) ? v switch
        {
            IList<object?> list => list,
            null => [],
            var single => [single],
        } : [];
}
