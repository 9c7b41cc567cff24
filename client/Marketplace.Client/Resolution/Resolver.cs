using System.Collections.Immutable;
using Marketplace.Packages;
using Semver;

namespace Marketplace.Client.Resolution;

/// <summary>A version the registry lists for a package.</summary>
public sealed record AvailableVersion(string Version, bool Yanked);

/// <summary>What the resolver needs from a registry (or from a test's table).</summary>
public interface IPackageSource
{
    /// <summary>Every version of the package, or null when the registry has no such package.</summary>
    ValueTask<IReadOnlyList<AvailableVersion>?> GetVersionsAsync(string name, CancellationToken cancellationToken);

    /// <summary>The version's dependencies (package name → npm range), as its publisher signed them.</summary>
    ValueTask<IReadOnlyDictionary<string, string>> GetDependenciesAsync(string name, string version, CancellationToken cancellationToken);
}

/// <summary>One package of a resolved graph: the chosen version and its dependencies (normalised names).</summary>
public sealed record ResolvedPackage(string Name, string Version, bool Yanked, IReadOnlyDictionary<string, string> Dependencies);

/// <summary>A whole graph, one version per package, sorted by name.</summary>
public sealed record DependencyGraph(IReadOnlyList<ResolvedPackage> Packages)
{
    public ResolvedPackage? Find(string name) => Packages.FirstOrDefault(p => p.Name == name);
}

/// <summary>
/// Resolves a dependency graph with npm's range semantics (Semver's npm parser: <c>^</c>, <c>~</c>, x-ranges, hyphens,
/// <c>||</c>, and npm's pre-release rule — a pre-release only matches a range with a pre-release on the same
/// major.minor.patch). One version per package, the highest that fits, yanked versions skipped unless the lockfile
/// already has them, a locked version preferred whenever it still fits. The search backtracks (depth first, highest
/// first, in name order), so it is complete and deterministic; a failure reports the first conflict met with the
/// requirement paths that caused it, and a cycle in the chosen graph is reported with its path.
/// </summary>
public sealed class Resolver(IPackageSource source)
{
    /// <summary>Bound of the search: a graph that needs more steps is reported rather than searched for ever.</summary>
    public int MaxSteps { get; init; } = 100_000;

    private sealed record Requirement(string Name, string Range, SemVersionRange Parsed, ImmutableArray<string> Path)
    {
        public string Describe() => (Path.IsEmpty ? "the install" : "root → " + string.Join(" → ", Path)) + $" requires {Name} {Range}";
    }

    private sealed record Chosen(string Name, SemVersion Version, string Text, bool Yanked, ImmutableSortedDictionary<string, string> Dependencies, Requirement By);

    private sealed record State(
        ImmutableSortedDictionary<string, Chosen> Assigned,
        ImmutableQueue<Requirement> Pending);

    private sealed record Candidate(SemVersion Version, string Text, bool Yanked);

    private readonly Dictionary<string, IReadOnlyList<Candidate>?> _versions = new(StringComparer.Ordinal);
    private ResolutionException? _firstFailure;
    private int _steps;

    /// <summary>
    /// Resolves <paramref name="roots"/> (package name → npm range). <paramref name="locked"/> (name → version) are the
    /// lockfile's choices: kept when they still fit, even if yanked since.
    /// </summary>
    public async Task<DependencyGraph> ResolveAsync(IReadOnlyDictionary<string, string> roots, IReadOnlyDictionary<string, string>? locked = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roots);
        var lockedVersions = (locked ?? new Dictionary<string, string>())
            .Where(l => SemVersion.TryParse(l.Value, SemVersionStyles.Strict, out _))
            .ToDictionary(l => Normalize(l.Key, "the lockfile"), l => SemVersion.Parse(l.Value, SemVersionStyles.Strict), StringComparer.Ordinal);
        var pending = ImmutableQueue<Requirement>.Empty;
        foreach (var (name, range) in roots.Select(r => (Name: Normalize(r.Key, "the install"), Range: r.Value)).OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            if (!DependencyRange.TryParse(range, out var parsed))
                throw new ResolutionException(ClientErrorCodes.InvalidRange, $"'{range}' (for {name}) is not an npm-style SemVer range.");
            pending = pending.Enqueue(new Requirement(name, range, parsed, []));
        }
        _firstFailure = null;
        _steps = 0;
        var solved = await SolveAsync(new State(ImmutableSortedDictionary.Create<string, Chosen>(StringComparer.Ordinal), pending), lockedVersions, cancellationToken);
        if (solved is null)
            throw _firstFailure ?? new ResolutionException(ClientErrorCodes.Conflict, "The requirements have no solution.");
        CheckCycles(solved.Assigned, roots.Keys.Select(k => Normalize(k, "the install")).Order(StringComparer.Ordinal));
        return new DependencyGraph(solved.Assigned.Values
            .Select(c => new ResolvedPackage(c.Name, c.Text, c.Yanked, c.Dependencies))
            .ToList());
    }

    private async ValueTask<State?> SolveAsync(State state, Dictionary<string, SemVersion> locked, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (++_steps > MaxSteps)
            throw new ResolutionException(ClientErrorCodes.Conflict, $"Resolution gave up after {MaxSteps} steps; pin some versions to narrow it down.");
        if (state.Pending.IsEmpty)
            return state;
        var pending = state.Pending.Dequeue(out var requirement);
        var name = requirement.Name;

        if (state.Assigned.TryGetValue(name, out var chosen))
        {
            if (requirement.Parsed.Contains(chosen.Version))
                return await SolveAsync(state with { Pending = pending }, locked, cancellationToken);
            Fail(ClientErrorCodes.Conflict,
                $"Conflict on {name}: {name}@{chosen.Text} was chosen because {chosen.By.Describe()}, but {requirement.Describe()}" +
                (await AnyVersionFitsAsync(name, [chosen.By, requirement], cancellationToken)
                    ? "."
                    : $"; no version of {name} satisfies both."));
            return null;
        }

        var versions = await VersionsAsync(name, cancellationToken);
        if (versions is null)
        {
            Fail(ClientErrorCodes.UnknownPackage, $"{requirement.Describe()}, but the registry has no package {name}.");
            return null;
        }
        var isLocked = locked.TryGetValue(name, out var lockedVersion);
        var candidates = versions
            .Where(v => requirement.Parsed.Contains(v.Version) && (!v.Yanked || (isLocked && v.Version.ComparePrecedenceTo(lockedVersion) == 0)))
            .OrderByDescending(v => isLocked && v.Version.ComparePrecedenceTo(lockedVersion) == 0)
            .ThenByDescending(v => v.Version, SemVersion.PrecedenceComparer)
            .ToList();
        if (candidates.Count == 0)
        {
            var yanked = versions.Where(v => v.Yanked && requirement.Parsed.Contains(v.Version)).Select(v => v.Text).ToList();
            Fail(ClientErrorCodes.NoMatchingVersion, $"No version of {name} matches: {requirement.Describe()}" +
                (yanked.Count > 0 ? $" and only yanked versions match ({string.Join(", ", yanked)})." : $"; it has {Listing(versions)}."));
            return null;
        }

        foreach (var candidate in candidates)
        {
            var dependencies = await source.GetDependenciesAsync(name, candidate.Text, cancellationToken);
            var path = requirement.Path.Add($"{name}@{candidate.Text}");
            var normalized = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
            var next = pending;
            var usable = true;
            foreach (var (dependency, range) in dependencies.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                var dependencyName = PackageName.Normalize(dependency).Value;
                if (dependencyName is null || !DependencyRange.TryParse(range, out var parsed))
                {
                    Fail(ClientErrorCodes.InvalidRange, $"root → {string.Join(" → ", path)} has an unusable dependency '{dependency}': '{range}'.");
                    usable = false;
                    break;
                }
                normalized[dependencyName] = range;
                next = next.Enqueue(new Requirement(dependencyName, range, parsed, path));
            }
            if (!usable) continue;
            var assigned = state.Assigned.Add(name, new Chosen(name, candidate.Version, candidate.Text, candidate.Yanked, normalized.ToImmutable(), requirement));
            if (await SolveAsync(new State(assigned, next), locked, cancellationToken) is { } solved)
                return solved;
        }
        return null;
    }

    private async ValueTask<bool> AnyVersionFitsAsync(string name, Requirement[] requirements, CancellationToken cancellationToken) =>
        (await VersionsAsync(name, cancellationToken) ?? []).Any(v => !v.Yanked && requirements.All(r => r.Parsed.Contains(v.Version)));

    private async ValueTask<IReadOnlyList<Candidate>?> VersionsAsync(string name, CancellationToken cancellationToken)
    {
        if (_versions.TryGetValue(name, out var cached))
            return cached;
        var listed = await source.GetVersionsAsync(name, cancellationToken);
        var parsed = listed?
            .Select(v => SemVersion.TryParse(v.Version, SemVersionStyles.Strict, out var s) ? new Candidate(s, v.Version, v.Yanked) : null)
            .OfType<Candidate>()
            .OrderByDescending(c => c.Version, SemVersion.PrecedenceComparer)
            .ToList();
        _versions[name] = parsed;
        return parsed;
    }

    private void Fail(string code, string message) => _firstFailure ??= new ResolutionException(code, message);

    private static string Listing(IReadOnlyList<Candidate> versions) =>
        versions.Count == 0 ? "no versions" : "versions " + string.Join(", ", versions.Select(v => v.Yanked ? v.Text + " (yanked)" : v.Text));

    private static string Normalize(string name, string where) =>
        PackageName.Normalize(name) is { Value: { } normalized }
            ? normalized
            : throw new ResolutionException(ClientErrorCodes.InvalidName, $"'{name}' in {where} is not a package name.");

    /// <summary>Depth-first over the chosen graph in name order; a back edge is a cycle, reported from the root that reaches it.</summary>
    private static void CheckCycles(ImmutableSortedDictionary<string, Chosen> chosen, IEnumerable<string> roots)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var stack = new List<string>();
        void Visit(string name)
        {
            if (done.Contains(name) || !chosen.TryGetValue(name, out var package)) return;
            var at = stack.IndexOf(name);
            if (at >= 0)
            {
                var cycle = stack.Skip(at).Append(name).Select(n => $"{n}@{chosen[n].Text}");
                var reach = stack.Take(at + 1).Select(n => $"{n}@{chosen[n].Text}");
                throw new ResolutionException(ClientErrorCodes.Cycle,
                    $"Dependency cycle: {string.Join(" → ", cycle)} (reached through root → {string.Join(" → ", reach)}).");
            }
            stack.Add(name);
            foreach (var dependency in package.Dependencies.Keys)
                Visit(dependency);
            stack.RemoveAt(stack.Count - 1);
            done.Add(name);
        }
        foreach (var root in roots)
            Visit(root);
    }
}
