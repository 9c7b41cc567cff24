using Marketplace.Client.Resolution;

namespace Marketplace.Client.Tests.Resolution;

/// <summary>A registry as a table: package → versions (yanked or not) with their dependencies, for the resolver alone.</summary>
public sealed class TableSource : IPackageSource
{
    private readonly Dictionary<string, List<(string Version, bool Yanked, List<KeyValuePair<string, string>> Dependencies)>> _packages = new(StringComparer.Ordinal);

    public TableSource Add(string name, string version, params (string Name, string Range)[] dependencies) =>
        Add(name, version, false, dependencies);

    public TableSource Add(string name, string version, bool yanked, params (string Name, string Range)[] dependencies)
    {
        if (!_packages.TryGetValue(name, out var versions))
            _packages[name] = versions = [];
        versions.Add((version, yanked, dependencies.Select(d => KeyValuePair.Create(d.Name, d.Range)).ToList()));
        return this;
    }

    public TableSource Yank(string name, string version)
    {
        var versions = _packages[name];
        var at = versions.FindIndex(v => v.Version == version);
        versions[at] = versions[at] with { Yanked = true };
        return this;
    }

    /// <summary>Lists versions and dependencies in reverse order: the resolver must not depend on the order it is given.</summary>
    public bool Reversed { get; init; }

    public int Calls { get; private set; }

    public ValueTask<IReadOnlyList<AvailableVersion>?> GetVersionsAsync(string name, CancellationToken cancellationToken)
    {
        Calls++;
        if (!_packages.TryGetValue(name, out var versions))
            return ValueTask.FromResult<IReadOnlyList<AvailableVersion>?>(null);
        var listed = versions.Select(v => new AvailableVersion(v.Version, v.Yanked));
        return ValueTask.FromResult<IReadOnlyList<AvailableVersion>?>((Reversed ? listed.Reverse() : listed).ToList());
    }

    public ValueTask<IReadOnlyDictionary<string, string>> GetDependenciesAsync(string name, string version, CancellationToken cancellationToken)
    {
        var dependencies = _packages[name].Single(v => v.Version == version).Dependencies;
        var ordered = Reversed ? Enumerable.Reverse(dependencies) : dependencies;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in ordered) result[key] = value;
        return ValueTask.FromResult<IReadOnlyDictionary<string, string>>(result);
    }

    public TableSource Copy(bool reversed)
    {
        var copy = new TableSource { Reversed = reversed };
        foreach (var (name, versions) in _packages)
            foreach (var v in versions)
                copy.Add(name, v.Version, v.Yanked, v.Dependencies.Select(d => (d.Key, d.Value)).ToArray());
        return copy;
    }
}
