using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Marketplace.Client.Resolution;
using Semver;

namespace Marketplace.Client.Tests.Resolution;

public sealed record VersionCase(string Version, bool Yanked, (string Name, string Range)[] Dependencies);

public sealed record PackageCase(string Name, VersionCase[] Versions);

/// <summary>A small registry (up to 5 packages of up to 5 versions) and the roots of an install.</summary>
public sealed record RegistryCase(PackageCase[] Packages, (string Name, string Range)[] Roots, bool Acyclic)
{
    public TableSource Source(bool reversed = false)
    {
        var source = new TableSource { Reversed = reversed };
        foreach (var package in reversed ? Packages.Reverse() : Packages)
            foreach (var version in package.Versions)
                source.Add(package.Name, version.Version, version.Yanked, version.Dependencies);
        return source;
    }

    public Dictionary<string, string> RootMap => Roots.ToDictionary(r => r.Name, r => r.Range, StringComparer.Ordinal);

    public override string ToString() =>
        $"roots {string.Join(", ", Roots.Select(r => $"{r.Name} {r.Range}"))}; " +
        string.Join("; ", Packages.SelectMany(p => p.Versions.Select(v =>
            $"{p.Name}@{v.Version}{(v.Yanked ? " (yanked)" : "")} -> [{string.Join(", ", v.Dependencies.Select(d => $"{d.Name} {d.Range}"))}]")));
}

public static class RegistryArbitraries
{
    private static readonly string[] VersionPool = ["0.1.0", "1.0.0", "1.1.0", "1.2.0-beta.1", "1.2.0", "2.0.0-rc.1", "2.0.0", "2.1.0"];
    // Permissive ranges are repeated so that about half of the registries have a solution.
    public static readonly string[] RangePool =
        ["*", "*", "*", ">=0.1.0", "^1.0.0", "^1.0.0", ">=1.0.0 <2", "1.x || 2.x", "1.x || 2.x", "~1.1.0", "^2", "^1.2.0-beta.1", "^0.1.0", ">=2.0.0-rc.1 <2.0.0", "<1.1.0"];

    private static Gen<RegistryCase> Cases(bool acyclic, bool withDependencies) =>
        from count in Gen.Choose(1, 5)
        from packages in Gen.CollectToArray(Enumerable.Range(0, count), i => Package(i, count, acyclic, withDependencies))
        from rootCount in Gen.Choose(1, Math.Min(2, count))
        from rootIndexes in Gen.Shuffle(Enumerable.Range(0, count))
        from ranges in Gen.Elements(RangePool).ArrayOf(rootCount)
        select new RegistryCase(packages, rootIndexes.Take(rootCount).Select((p, i) => ($"p{p}", ranges[i])).ToArray(), acyclic);

    private static Gen<PackageCase> Package(int index, int count, bool acyclic, bool withDependencies) =>
        from versions in Gen.SubListOf(VersionPool).Where(v => v.Count > 0)
        from cases in Gen.CollectToArray(versions, v => Version(v, index, count, acyclic, withDependencies))
        select new PackageCase($"p{index}", cases);

    private static Gen<VersionCase> Version(string version, int index, int count, bool acyclic, bool withDependencies)
    {
        var targets = Enumerable.Range(acyclic ? index + 1 : 0, acyclic ? count - index - 1 : count).Select(t => $"p{t}").ToArray();
        return from yanked in Gen.Elements(true, false, false, false, false, false)
               from dependencies in withDependencies ? Gen.SubListOf(targets).Select(l => l.ToArray()) : Gen.Constant(Array.Empty<string>())
               from ranges in Gen.Elements(RangePool).ArrayOf(dependencies.Length)
               select new VersionCase(version, yanked, dependencies.Select((d, i) => (d, ranges[i])).ToArray());
    }

    public static Arbitrary<RegistryCase> Registries() => Arb.From(Gen.OneOf(Cases(acyclic: true, withDependencies: true), Cases(acyclic: false, withDependencies: true)));
}

public static class AcyclicArbitraries
{
    public static Arbitrary<RegistryCase> Registries() => Arb.From(
        Gen.Sized(_ => RegistryArbitraries.Registries().Generator.Where(c => c.Acyclic)));
}

public static class FlatArbitraries
{
    public static Arbitrary<RegistryCase> Registries() => Arb.From(
        RegistryArbitraries.Registries().Generator.Select(c => c with
        {
            Packages = c.Packages.Select(p => p with { Versions = p.Versions.Select(v => v with { Dependencies = [] }).ToArray() }).ToArray(),
        }));
}

/// <summary>
/// The resolver against brute force and against itself: what it returns satisfies every requirement and holds nothing
/// extra; it finds a solution exactly when one exists (acyclic graphs); it is deterministic whatever order the registry
/// lists things in; a lockfile's choices survive newer and yanked versions; with no dependencies it is "highest fit".
/// </summary>
public sealed class ResolverProperties
{
    private static SemVersion V(string text) => SemVersion.Parse(text, SemVersionStyles.Strict);
    private static bool Fits(string range, string version) => SemVersionRange.ParseNpm(range).Contains(V(version));

    private static DependencyGraph? TryResolve(TableSource source, RegistryCase c, IReadOnlyDictionary<string, string>? locked = null)
    {
        try
        {
            return new Resolver(source).ResolveAsync(c.RootMap, locked).GetAwaiter().GetResult();
        }
        catch (ResolutionException e) when (e.Code is ClientErrorCodes.Conflict or ClientErrorCodes.NoMatchingVersion or ClientErrorCodes.Cycle)
        {
            return null;
        }
    }

    private static VersionCase Spec(RegistryCase c, string name, string version) =>
        c.Packages.Single(p => p.Name == name).Versions.Single(v => v.Version == version);

    /// <summary>Every requirement met, every dependency present, nothing unreachable, nothing yanked, no cycle.</summary>
    private static bool Sound(RegistryCase c, DependencyGraph graph)
    {
        var chosen = graph.Packages.ToDictionary(p => p.Name, p => p.Version);
        if (c.Roots.Any(r => !chosen.TryGetValue(r.Name, out var v) || !Fits(r.Range, v))) return false;
        foreach (var (name, version) in chosen)
        {
            var spec = Spec(c, name, version);
            if (spec.Yanked) return false;
            if (spec.Dependencies.Any(d => !chosen.TryGetValue(d.Name, out var dv) || !Fits(d.Range, dv))) return false;
        }
        var reached = new HashSet<string>();
        var todo = new Stack<string>(c.Roots.Select(r => r.Name));
        while (todo.TryPop(out var n))
            if (reached.Add(n))
                foreach (var d in Spec(c, n, chosen[n]).Dependencies) todo.Push(d.Name);
        return reached.SetEquals(chosen.Keys);
    }

    /// <summary>Tries every assignment (absent or a non-yanked version per package): is there any valid one?</summary>
    private static bool HasSolution(RegistryCase c)
    {
        var names = c.Packages.Select(p => p.Name).ToArray();
        var options = c.Packages.Select(p => new string?[] { null }.Concat(p.Versions.Where(v => !v.Yanked).Select(v => v.Version)).ToArray()).ToArray();
        var choice = new string?[names.Length];
        bool Search(int i)
        {
            if (i == names.Length)
            {
                var chosen = names.Zip(choice).Where(x => x.Second is not null).ToDictionary(x => x.First, x => x.Second!);
                return c.Roots.All(r => chosen.TryGetValue(r.Name, out var v) && Fits(r.Range, v))
                    && chosen.All(kv => Spec(c, kv.Key, kv.Value).Dependencies.All(d => chosen.TryGetValue(d.Name, out var dv) && Fits(d.Range, dv)));
            }
            foreach (var option in options[i])
            {
                choice[i] = option;
                if (Search(i + 1)) return true;
            }
            return false;
        }
        return Search(0);
    }

    private static string Show(DependencyGraph? graph) =>
        graph is null ? "no solution" : string.Join(" ", graph.Packages.Select(p => $"{p.Name}@{p.Version}"));

    [Property(Arbitrary = [typeof(RegistryArbitraries)], MaxTest = 300)]
    public Property a_resolution_meets_every_requirement_and_holds_nothing_else(RegistryCase c)
    {
        var graph = TryResolve(c.Source(), c);
        return (graph is null || Sound(c, graph)).Label($"{c} => {Show(graph)}");
    }

    [Property(Arbitrary = [typeof(AcyclicArbitraries)], MaxTest = 300)]
    public Property a_solution_is_found_exactly_when_one_exists(RegistryCase c)
    {
        var graph = TryResolve(c.Source(), c);
        return ((graph is not null) == HasSolution(c)).Label($"{c} => {Show(graph)}");
    }

    [Property(Arbitrary = [typeof(RegistryArbitraries)], MaxTest = 300)]
    public Property the_result_does_not_depend_on_the_order_the_registry_lists_things(RegistryCase c) =>
        (Show(TryResolve(c.Source(), c)) == Show(TryResolve(c.Source(reversed: true), c))).Label(c.ToString());

    [Property(Arbitrary = [typeof(RegistryArbitraries)], MaxTest = 300)]
    public Property locked_choices_survive_newer_and_yanked_versions(RegistryCase c)
    {
        var graph = TryResolve(c.Source(), c);
        if (graph is null) return true.Label("nothing to lock");
        var locked = graph.Packages.ToDictionary(p => p.Name, p => p.Version);
        var later = c.Source();
        foreach (var package in c.Packages)
        {
            later.Add(package.Name, "1.9.9").Add(package.Name, "2.9.9");
            if (locked.TryGetValue(package.Name, out var version)) later.Yank(package.Name, version);
        }
        return (Show(TryResolve(later, c, locked)) == Show(graph)).Label($"{c} => {Show(graph)}");
    }

    [Property(Arbitrary = [typeof(FlatArbitraries)], MaxTest = 300)]
    public Property without_dependencies_each_root_gets_its_highest_fitting_version(RegistryCase c)
    {
        var graph = TryResolve(c.Source(), c);
        var expected = c.Roots.Select(r => (r.Name, Best: c.Packages.Single(p => p.Name == r.Name).Versions
                .Where(v => !v.Yanked && Fits(r.Range, v.Version))
                .Select(v => V(v.Version)).OrderDescending(SemVersion.PrecedenceComparer).FirstOrDefault()))
            .ToList();
        var ok = expected.Any(e => e.Best is null)
            ? graph is null
            : graph is not null && expected.All(e => graph.Find(e.Name)!.Version == e.Best!.ToString());
        return ok.Label($"{c} => {Show(graph)}");
    }
}
