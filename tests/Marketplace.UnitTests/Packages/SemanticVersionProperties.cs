using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Marketplace.Packages;

namespace Marketplace.UnitTests.Packages;

/// <summary>Generators of valid SemVer texts, biased towards collisions so that ties and near-ties are common.</summary>
public static class VersionArbitraries
{
    private static readonly string[] Identifiers = ["alpha", "beta", "rc", "RC", "a-b", "-", "0", "1", "2", "9", "10", "11", "0a", "x1"];
    private static readonly string[] Builds = ["", "+b", "+build.5", "+001", "+sha.0123abc", "+a-b.c"];

    public static Gen<string> VersionText =>
        from major in Gen.Elements(0, 1, 2, 10)
        from minor in Gen.Elements(0, 1, 9, 10)
        from patch in Gen.Elements(0, 1, 2)
        from count in Gen.Frequency((3, Gen.Constant(0)), (2, Gen.Constant(1)), (2, Gen.Constant(2)), (1, Gen.Constant(3)))
        from pre in Gen.ArrayOf(Gen.Elements(Identifiers), count)
        from build in Gen.Elements(Builds)
        select $"{major}.{minor}.{patch}{(pre.Length == 0 ? "" : "-" + string.Join('.', pre))}{build}";

    public static Gen<SemanticVersion> Version => VersionText.Select(t => SemanticVersion.Parse(t).Value!);

    public static Arbitrary<SemanticVersion> SemanticVersions() => Arb.From(Version);

    public static Arbitrary<SemanticVersion[]> SemanticVersionArrays() =>
        Arb.From(Gen.Choose(0, 30).SelectMany(n => Gen.ArrayOf(Version, n)));
}

public class SemanticVersionProperties
{
    [Property(Arbitrary = [typeof(VersionArbitraries)], MaxTest = 1000)]
    public bool every_generated_text_parses_and_round_trips(SemanticVersion v) =>
        SemanticVersion.Parse(v.Text).Value is { } again && again.Text == v.Text && again.Key == v.Key;

    [Property(Arbitrary = [typeof(VersionArbitraries)], MaxTest = 2000)]
    public bool compare_to_is_antisymmetric(SemanticVersion a, SemanticVersion b) =>
        Math.Sign(a.CompareTo(b)) == -Math.Sign(b.CompareTo(a));

    [Property(Arbitrary = [typeof(VersionArbitraries)], MaxTest = 2000)]
    public bool compare_to_is_reflexive(SemanticVersion a) => a.CompareTo(a) == 0 && a.Equals(a);

    [Property(Arbitrary = [typeof(VersionArbitraries)], MaxTest = 3000)]
    public bool compare_to_is_transitive(SemanticVersion a, SemanticVersion b, SemanticVersion c)
    {
        // Check every ordering of the three so that the premise holds often.
        SemanticVersion[] xs = [a, b, c];
        foreach (var x in xs)
        foreach (var y in xs)
        foreach (var z in xs)
        {
            if (x.CompareTo(y) <= 0 && y.CompareTo(z) <= 0 && x.CompareTo(z) > 0) return false;
            if (x.CompareTo(y) < 0 && y.CompareTo(z) < 0 && x.CompareTo(z) >= 0) return false;
        }
        return true;
    }

    [Property(Arbitrary = [typeof(VersionArbitraries)], MaxTest = 2000)]
    public bool compare_to_is_zero_exactly_when_keys_are_equal(SemanticVersion a, SemanticVersion b) =>
        (a.CompareTo(b) == 0) == (a.Key == b.Key)
        && a.Equals(b) == (a.Key == b.Key)
        && (a == b) == (a.Key == b.Key)
        && (!a.Equals(b) || a.GetHashCode() == b.GetHashCode());

    [Property(Arbitrary = [typeof(VersionArbitraries)], MaxTest = 500)]
    public bool sorting_is_deterministic_up_to_key_equality(SemanticVersion[] versions)
    {
        var forward = versions.Order().Select(v => v.Key).ToArray();
        var backward = versions.Reverse().Order().Select(v => v.Key).ToArray();
        var listSorted = versions.ToList();
        listSorted.Sort(); // introsort: not stable, but must agree on the sequence of keys
        return forward.SequenceEqual(backward)
            && forward.SequenceEqual(listSorted.Select(v => v.Key))
            // ascending, and versions with one key are adjacent
            && forward.Zip(forward.Skip(1)).All(p => SemanticVersion.Parse(p.First).Value!.CompareTo(SemanticVersion.Parse(p.Second).Value) <= 0)
            && forward.Distinct().Count() == forward.Zip(forward.Skip(1)).Count(p => p.First != p.Second) + (forward.Length == 0 ? 0 : 1);
    }

    [Property(Arbitrary = [typeof(VersionArbitraries)], MaxTest = 500)]
    public bool a_stable_sort_keeps_the_input_order_of_versions_with_one_key(SemanticVersion[] versions)
    {
        // OrderBy is stable: among versions with one Key (e.g. 1.0.0+a and 1.0.0+b) the input order survives.
        var sorted = versions.Select((v, i) => (v, i)).OrderBy(p => p.v).ToArray();
        return sorted.Zip(sorted.Skip(1)).All(p => p.First.v.Key != p.Second.v.Key || p.First.i < p.Second.i);
    }

    [Property(Arbitrary = [typeof(VersionArbitraries)], MaxTest = 1000)]
    public bool a_version_without_prerelease_follows_every_prerelease_of_it(SemanticVersion v)
    {
        var release = SemanticVersion.Parse($"{v.Major}.{v.Minor}.{v.Patch}").Value!;
        return v.IsPrerelease ? v < release : v.CompareTo(release) == 0;
    }
}
