using Marketplace.Packages;

namespace Marketplace.UnitTests.Packages;

public class SemanticVersionTests
{
    // The valid examples of the regex test list on semver.org (FAQ: "Is there a suggested regular expression").
    [Theory]
    [InlineData("0.0.4")]
    [InlineData("1.2.3")]
    [InlineData("10.20.30")]
    [InlineData("1.1.2-prerelease+meta")]
    [InlineData("1.1.2+meta")]
    [InlineData("1.1.2+meta-valid")]
    [InlineData("1.0.0-alpha")]
    [InlineData("1.0.0-beta")]
    [InlineData("1.0.0-alpha.beta")]
    [InlineData("1.0.0-alpha.beta.1")]
    [InlineData("1.0.0-alpha.1")]
    [InlineData("1.0.0-alpha0.valid")]
    [InlineData("1.0.0-alpha.0valid")]
    [InlineData("1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay")]
    [InlineData("1.0.0-rc.1+build.1")]
    [InlineData("2.0.0-rc.1+build.123")]
    [InlineData("1.2.3-beta")]
    [InlineData("10.2.3-DEV-SNAPSHOT")]
    [InlineData("1.2.3-SNAPSHOT-123")]
    [InlineData("1.0.0")]
    [InlineData("2.0.0")]
    [InlineData("1.1.7")]
    [InlineData("2.0.0+build.1848")]
    [InlineData("2.0.1-alpha.1227")]
    [InlineData("1.0.0-alpha+beta")]
    [InlineData("1.2.3----RC-SNAPSHOT.12.9.1--.12+788")]
    [InlineData("1.2.3----R-S.12.9.1--.12+meta")]
    [InlineData("1.2.3----RC-SNAPSHOT.12.9.1--.12")]
    [InlineData("1.0.0+0.build.1-rc.10000aaa-kk-0.1")]
    [InlineData("1.0.0-0A.is.legal")]
    [InlineData("1.0.0+01")]          // leading zeros are allowed in build metadata
    [InlineData("1.0.0-0")]
    public void semver_org_valid_examples_parse(string text)
    {
        var outcome = SemanticVersion.Parse(text);

        Assert.Null(outcome.Error);
        Assert.Equal(text, outcome.Value!.Text);
        Assert.Equal(text, outcome.Value.ToString());
    }

    // The invalid examples of the same list.
    [Theory]
    [InlineData("1")]
    [InlineData("1.2")]
    [InlineData("1.2.3-0123")]
    [InlineData("1.2.3-0123.0123")]
    [InlineData("1.1.2+.123")]
    [InlineData("+invalid")]
    [InlineData("-invalid")]
    [InlineData("-invalid+invalid")]
    [InlineData("-invalid.01")]
    [InlineData("alpha")]
    [InlineData("alpha.beta")]
    [InlineData("alpha.beta.1")]
    [InlineData("alpha.1")]
    [InlineData("alpha+beta")]
    [InlineData("alpha_beta")]
    [InlineData("alpha.")]
    [InlineData("alpha..")]
    [InlineData("beta")]
    [InlineData("1.0.0-alpha_beta")]
    [InlineData("-alpha.")]
    [InlineData("1.0.0-alpha..")]
    [InlineData("1.0.0-alpha..1")]
    [InlineData("1.0.0-alpha...1")]
    [InlineData("1.0.0-alpha....1")]
    [InlineData("1.0.0-alpha.....1")]
    [InlineData("1.0.0-alpha......1")]
    [InlineData("1.0.0-alpha.......1")]
    [InlineData("01.1.1")]
    [InlineData("1.01.1")]
    [InlineData("1.1.01")]
    [InlineData("1.2.3.DEV")]
    [InlineData("1.2-SNAPSHOT")]
    [InlineData("1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788")]
    [InlineData("1.2-RC-SNAPSHOT")]
    [InlineData("-1.0.3-gamma+b7718")]
    [InlineData("+justmeta")]
    [InlineData("9.8.7+meta+meta")]
    [InlineData("9.8.7-whatever+meta+meta")]
    [InlineData("99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT.12.09.1--------------------------------..12")]
    [InlineData("1.0.0-")]
    [InlineData("1.0.0+")]
    [InlineData("")]
    [InlineData("v1.0.0")]
    [InlineData("1.0.0 ")]
    [InlineData(" 1.0.0")]
    [InlineData("1.0.0.0")]
    [InlineData("1..0")]
    [InlineData("1.0.0-a b")]
    [InlineData("1.0.0+a b")]
    [InlineData("1.0.0-\u00e9")]
    [InlineData("\u0661.0.0")]        // ARABIC-INDIC DIGIT ONE is a digit, not an ASCII one
    [InlineData("1.0.0-\uFF11")]      // FULLWIDTH DIGIT ONE
    public void semver_org_invalid_examples_are_invalid_version(string text) => AssertInvalid(text);

    [Fact]
    public void a_null_version_is_invalid() => AssertInvalid(null);

    [Fact]
    public void a_version_longer_than_128_characters_is_invalid()
    {
        var text = "1.0.0-" + new string('a', 123);
        Assert.Equal(129, text.Length);
        AssertInvalid(text);

        var atLimit = "1.0.0-" + new string('a', 122);
        Assert.Null(SemanticVersion.Parse(atLimit).Error);
    }

    [Fact]
    public void components_are_parsed()
    {
        var v = Parse("1.22.333-rc.1+build.7");

        Assert.Equal(1, v.Major);
        Assert.Equal(22, v.Minor);
        Assert.Equal(333, v.Patch);
        Assert.Equal(["rc", "1"], v.Prerelease);
        Assert.Equal("build.7", v.Build);
        Assert.True(v.IsPrerelease);
        Assert.Equal("1.22.333-rc.1", v.Key);
        Assert.False(Parse("1.0.0+rc").IsPrerelease);
    }

    [Fact]
    public void precedence_follows_the_chain_of_semver_section_11()
    {
        AssertAscending("1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
            "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0");
    }

    [Fact]
    public void major_minor_and_patch_compare_numerically()
    {
        AssertAscending("1.0.0", "2.0.0", "2.1.0", "2.1.1");
        AssertAscending("1.9.0", "1.10.0", "1.11.0", "10.0.0");
        AssertAscending("0.0.9", "0.0.10", "0.1.0");
    }

    [Fact]
    public void numeric_identifiers_have_lower_precedence_than_alphanumeric_ones()
    {
        AssertAscending("1.0.0-1", "1.0.0-9", "1.0.0-10", "1.0.0-A", "1.0.0-a", "1.0.0-alpha");
        AssertAscending("1.0.0-rc.99", "1.0.0-rc.100", "1.0.0-rc.a");
    }

    [Fact]
    public void alphanumeric_identifiers_compare_in_ascii_order()
    {
        // Upper case sorts before lower case; '-' (0x2D) before digits and letters.
        AssertAscending("1.0.0--", "1.0.0-0a", "1.0.0-RC", "1.0.0-rc");
    }

    [Fact]
    public void a_prerelease_precedes_its_release_and_follows_the_previous_patch()
    {
        AssertAscending("1.0.0", "1.0.1-alpha", "1.0.1");
    }

    [Fact]
    public void build_metadata_does_not_distinguish_versions()
    {
        var plain = Parse("1.0.0");
        var a = Parse("1.0.0+a");
        var b = Parse("1.0.0+b.2");

        Assert.Equal("1.0.0", a.Key);
        Assert.Equal("1.0.0", b.Key);
        Assert.Equal(plain, a);
        Assert.Equal(a, b);
        Assert.True(plain == a);
        Assert.False(plain != a);
        Assert.Equal(0, plain.CompareTo(a));
        Assert.Equal(0, a.CompareTo(b));
        Assert.Equal(plain.GetHashCode(), a.GetHashCode());
        Assert.Equal("1.0.0+a", a.Text);
        Assert.Single(new HashSet<SemanticVersion> { plain, a, b });
    }

    [Fact]
    public void key_drops_only_the_build_metadata()
    {
        Assert.Equal("1.0.0-rc.1", Parse("1.0.0-rc.1+build-1.2").Key);
        Assert.Equal("1.0.0-rc-1", Parse("1.0.0-rc-1").Key);
        Assert.Equal("2.3.4", Parse("2.3.4").Key);
    }

    [Fact]
    public void prerelease_identifiers_are_case_sensitive()
    {
        Assert.NotEqual(Parse("1.0.0-RC.1"), Parse("1.0.0-rc.1"));
        Assert.NotEqual(0, Parse("1.0.0-RC.1").CompareTo(Parse("1.0.0-rc.1")));
    }

    [Fact]
    public void a_version_is_greater_than_null()
    {
        Assert.True(Parse("0.0.0").CompareTo(null) > 0);
        Assert.False(Parse("0.0.0").Equals(null));
        Assert.True((SemanticVersion?)null == null);
        Assert.False(Parse("0.0.0") == null);
    }

    [Fact]
    public void large_numeric_components_compare_numerically()
    {
        AssertAscending("999999999999999998.0.0", "999999999999999999.0.0");
        AssertAscending("1.0.0-999999999999999999999998", "1.0.0-999999999999999999999999", "1.0.0-1000000000000000000000000");
    }

    [Fact]
    public void numeric_components_are_limited_to_18_digits()
    {
        // semver.org lists 99999999999999999999999.999999999999999999.99999999999999999 as valid; this registry
        // keeps MAJOR, MINOR and PATCH in a long and refuses more than 18 digits (an implementation limit).
        Assert.Null(SemanticVersion.Parse("999999999999999999.999999999999999999.999999999999999999").Error);
        AssertInvalid("1000000000000000000.0.0");
        AssertInvalid("99999999999999999999999.999999999999999999.99999999999999999");
    }

    private static SemanticVersion Parse(string text)
    {
        var outcome = SemanticVersion.Parse(text);
        Assert.Null(outcome.Error);
        return outcome.Value!;
    }

    private static void AssertAscending(params string[] texts)
    {
        var versions = texts.Select(Parse).ToArray();
        for (var i = 0; i < versions.Length; i++)
        {
            for (var j = 0; j < versions.Length; j++)
            {
                var expected = i.CompareTo(j);
                var actual = Math.Sign(versions[i].CompareTo(versions[j]));
                Assert.True(expected == actual, $"{texts[i]} vs {texts[j]}: expected {expected}, got {actual}");
            }
        }
        for (var i = 0; i + 1 < versions.Length; i++)
        {
            Assert.True(versions[i] < versions[i + 1], $"{texts[i]} < {texts[i + 1]}");
            Assert.True(versions[i + 1] > versions[i], $"{texts[i + 1]} > {texts[i]}");
            Assert.True(versions[i] <= versions[i + 1]);
            Assert.True(versions[i + 1] >= versions[i]);
        }
        // Sorting any permutation gives the chain back.
        var shuffled = versions.Reverse().ToList();
        shuffled.Sort();
        Assert.Equal(texts, shuffled.Select(v => v.Text));
    }

    private static void AssertInvalid(string? text)
    {
        var outcome = SemanticVersion.Parse(text);

        Assert.True(outcome.IsError, $"'{text}' was accepted");
        Assert.Equal("invalid-version", outcome.Error!.Code);
        Assert.Equal(400, outcome.Error.Status);
    }
}
