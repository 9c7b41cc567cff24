namespace Marketplace.Packages;

/// <summary>
/// The two rules every read model of a package's versions shares: versions kept in ascending SemVer precedence, and
/// the version shown as "latest" — the highest non-yanked stable one, else the highest non-yanked pre-release.
/// </summary>
public static class VersionOrder
{
    /// <summary>
    /// Where <paramref name="version"/> goes in <paramref name="ascending"/>, scanning from the top (a new version is
    /// usually the highest) rather than re-sorting.
    /// </summary>
    public static int InsertionIndex<T>(IReadOnlyList<T> ascending, Func<T, string> versionOf, string version)
    {
        var parsed = SemanticVersion.Parse(version).Value!;
        var at = ascending.Count;
        while (at > 0 && SemanticVersion.Parse(versionOf(ascending[at - 1])).Value! > parsed) at--;
        return at;
    }

    /// <summary>The latest of <paramref name="ascending"/> (ascending precedence), or null when every version is yanked.</summary>
    public static T? Latest<T>(IReadOnlyList<T> ascending, Func<T, string> versionOf, Func<T, bool> yanked) where T : class
    {
        T? prerelease = null;
        for (var i = ascending.Count - 1; i >= 0; i--)
        {
            if (yanked(ascending[i])) continue;
            if (!SemanticVersion.Parse(versionOf(ascending[i])).Value!.IsPrerelease) return ascending[i];
            prerelease ??= ascending[i];
        }
        return prerelease;
    }
}
