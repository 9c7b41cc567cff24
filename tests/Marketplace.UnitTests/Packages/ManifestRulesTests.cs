using System.Text;
using Marketplace.Packages;

namespace Marketplace.UnitTests.Packages;

public class ManifestRulesTests
{
    private static readonly PackageManifest Full = new(
        Description: "Pads strings on the left.",
        Authors: ["Ada Lovelace <ada@example.com>", "Grace Hopper"],
        License: "(Apache-2.0 OR MIT)",
        Repository: "https://github.com/example/left-pad",
        Homepage: "https://example.com/left-pad?ref=registry#readme",
        Keywords: ["string", "pad", "left-pad", "text", "utf8", "a", "b", "c", "d", "e"],
        Categories: ["text-processing", "utilities"],
        Dependencies: new Dictionary<string, string>
        {
            ["right-pad"] = "^1.2.0",
            ["Center_Pad"] = ">=2 <3",
            ["core.utils"] = "~1.2.3-beta.1 || 2.x",
            ["any"] = "*",
        },
        Readme: "# left-pad\n\nPads strings. ✓");

    private static void AssertInvalid(PackageManifest? manifest)
    {
        var error = ManifestRules.Validate(manifest);
        Assert.NotNull(error);
        Assert.Equal("invalid-manifest", error.Code);
        Assert.Equal(400, error.Status);
    }

    private static void AssertValid(PackageManifest manifest) => Assert.Null(ManifestRules.Validate(manifest));

    [Fact]
    public void a_full_valid_manifest_passes() => AssertValid(Full);

    [Fact]
    public void an_empty_manifest_passes() => AssertValid(new PackageManifest());

    [Fact]
    public void a_missing_manifest_is_invalid() => AssertInvalid(null);

    // description

    [Fact]
    public void a_description_of_1024_characters_passes() => AssertValid(Full with { Description = new string('d', 1024) });

    [Fact]
    public void a_description_over_1024_characters_is_invalid() => AssertInvalid(Full with { Description = new string('d', 1025) });

    // authors

    [Fact]
    public void thirty_two_authors_pass() =>
        AssertValid(Full with { Authors = Enumerable.Range(0, 32).Select(i => $"author {i}").ToList() });

    [Fact]
    public void more_than_32_authors_are_invalid() =>
        AssertInvalid(Full with { Authors = Enumerable.Range(0, 33).Select(i => $"author {i}").ToList() });

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Ada\nLovelace")]
    [InlineData("Ada\0")]
    [InlineData("Ada\u007F")]
    public void a_blank_or_control_character_author_is_invalid(string author) => AssertInvalid(Full with { Authors = [author] });

    [Fact]
    public void an_author_over_128_characters_is_invalid()
    {
        AssertValid(Full with { Authors = [new string('a', 128)] });
        AssertInvalid(Full with { Authors = [new string('a', 129)] });
    }

    // license

    [Theory]
    [InlineData("MIT")]
    [InlineData("Apache-2.0")]
    [InlineData("(Apache-2.0 OR MIT)")]
    [InlineData("MIT AND (BSD-2-Clause OR Apache-2.0)")]
    [InlineData("GPL-2.0-or-later WITH Classpath-exception-2.0")]
    [InlineData("GPL-2.0+")]
    [InlineData("LicenseRef-Proprietary")]
    [InlineData("DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2")]
    public void spdx_expressions_pass(string license) => AssertValid(Full with { License = license });

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("MIT OR")]
    [InlineData("OR MIT")]
    [InlineData("MIT AND")]
    [InlineData("Apache 2.0")]
    [InlineData("MIT/Apache-2.0")]
    [InlineData("MIT, Apache-2.0")]
    [InlineData("mit or apache-2.0")]
    [InlineData("MIT OR OR Apache-2.0")]
    [InlineData("-MIT")]
    public void malformed_license_expressions_are_invalid(string license) => AssertInvalid(Full with { License = license });

    [Fact]
    public void a_license_over_256_characters_is_invalid() =>
        AssertInvalid(Full with { License = string.Join(" OR ", Enumerable.Repeat("MIT", 70)) });

    [Theory]
    [InlineData("(MIT")]
    [InlineData("MIT)")]
    [InlineData("((MIT)")]
    [InlineData("MIT AND OR")]
    [InlineData("AND")]
    public void license_expressions_that_spdx_cannot_parse_are_invalid(string license) => AssertInvalid(Full with { License = license });

    // repository and homepage

    [Theory]
    [InlineData("https://example.com")]
    [InlineData("https://example.com:8443/a/b?c=d#e")]
    [InlineData("HTTPS://EXAMPLE.COM/")]
    public void absolute_https_urls_pass(string url)
    {
        AssertValid(Full with { Homepage = url });
        AssertValid(Full with { Repository = url });
    }

    [Theory]
    [InlineData("http://example.com")]
    [InlineData("/relative/path")]
    [InlineData("relative/path")]
    [InlineData("example.com")]
    [InlineData("//example.com/path")]
    [InlineData("https://")]
    [InlineData("ftp://example.com")]
    [InlineData("file:///etc/passwd")]
    [InlineData("javascript:alert(1)")]
    [InlineData("git@github.com:example/left-pad.git")]
    [InlineData("")]
    public void a_homepage_that_is_not_an_absolute_https_url_is_invalid(string url) => AssertInvalid(Full with { Homepage = url });

    [Theory]
    [InlineData("http://github.com/example/left-pad")]
    [InlineData("../left-pad")]
    [InlineData("git+https://github.com/example/left-pad.git")]
    public void a_repository_that_is_not_an_absolute_https_url_is_invalid(string url) => AssertInvalid(Full with { Repository = url });

    [Fact]
    public void a_url_over_2048_characters_is_invalid()
    {
        var url = "https://example.com/" + new string('a', 2048 - 20);
        Assert.Equal(2048, url.Length);
        AssertValid(Full with { Homepage = url });
        AssertInvalid(Full with { Homepage = url + "a" });
    }

    // keywords and categories

    [Fact]
    public void eleven_keywords_are_invalid() =>
        AssertInvalid(Full with { Keywords = Enumerable.Range(0, 11).Select(i => $"k{i}").ToList() });

    [Fact]
    public void eleven_categories_are_invalid() =>
        AssertInvalid(Full with { Categories = Enumerable.Range(0, 11).Select(i => $"c{i}").ToList() });

    [Fact]
    public void ten_categories_pass() =>
        AssertValid(Full with { Categories = Enumerable.Range(0, 10).Select(i => $"c{i}").ToList() });

    [Theory]
    [InlineData("Uppercase")]
    [InlineData("UPPER")]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData("with space")]
    [InlineData("under_score")]
    [InlineData("dot.ted")]
    [InlineData("caf\u00e9")]
    [InlineData("\u212Aelvin")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")] // 33 characters
    public void a_malformed_keyword_or_category_is_invalid(string tag)
    {
        AssertInvalid(Full with { Keywords = [tag] });
        AssertInvalid(Full with { Categories = [tag] });
    }

    [Theory]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("trailing-")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")] // 32 characters
    public void well_formed_keywords_pass(string tag) => AssertValid(Full with { Keywords = [tag], Categories = [tag] });

    [Fact]
    public void a_null_keyword_is_invalid() => AssertInvalid(Full with { Keywords = [null!] });

    // dependencies

    [Theory]
    [InlineData("Not Valid")]
    [InlineData("1abc")]
    [InlineData("")]
    [InlineData("../evil")]
    [InlineData("p\u0430ckage")]
    public void a_dependency_with_an_invalid_name_is_invalid(string name) =>
        AssertInvalid(Full with { Dependencies = new Dictionary<string, string> { [name] = "^1.0.0" } });

    [Theory]
    [InlineData("^1.2.0")]
    [InlineData(">=2 <3")]
    [InlineData("~1.2.3")]
    [InlineData("1.x || 2.x")]
    [InlineData("1.2.3 - 2.3.4")]
    [InlineData("*")]
    [InlineData("=1.0.0-rc.1+build.5")]
    [InlineData("1.2")]
    [InlineData(">1.0.0 <=2.0.0 || 3.x")]
    public void dependency_ranges_in_npm_range_grammar_pass(string range) =>
        AssertValid(Full with { Dependencies = new Dictionary<string, string> { ["dep"] = range } });

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("$(rm -rf /)")]
    [InlineData("1.0.0; echo")]
    [InlineData("file:../dep")]
    [InlineData("git+https://github.com/example/dep.git")]
    [InlineData("npm:other@1.0.0")]
    [InlineData("github:user/repo")]
    [InlineData("^1.0.0\t")]
    [InlineData("\u00b01.0.0")]
    // Range characters, but not npm's range grammar: the server parses with the client's parser.
    [InlineData("not a range ~~")]
    [InlineData("latest")]
    [InlineData("next")]
    [InlineData("^^1.0.0")]
    [InlineData(">=1.0.0 <")]
    [InlineData("1.0.0 - ")]
    [InlineData("1.2.3.4")]
    public void a_dependency_range_outside_npm_range_grammar_is_invalid(string range) =>
        AssertInvalid(Full with { Dependencies = new Dictionary<string, string> { ["dep"] = range } });

    [Fact]
    public void a_keyword_or_category_with_a_trailing_newline_is_invalid()
    {
        AssertInvalid(Full with { Keywords = ["rust\n"] });
        AssertInvalid(Full with { Categories = ["rust\n"] });
    }

    [Fact]
    public void a_dependency_range_with_a_trailing_newline_is_invalid()
    {
        AssertInvalid(Full with { Dependencies = new Dictionary<string, string> { ["dep"] = "^1.0.0\n" } });
        AssertInvalid(Full with { Dependencies = new Dictionary<string, string> { ["dep"] = "\n" } });
    }

    [Fact]
    public void a_dependency_range_over_128_characters_is_invalid()
    {
        var range = string.Join(" || ", Enumerable.Range(0, 30).Select(i => $"^{i}.0.0"));
        Assert.True(range.Length > 128);
        AssertInvalid(Full with { Dependencies = new Dictionary<string, string> { ["dep"] = range } });
    }

    [Fact]
    public void more_than_256_dependencies_are_invalid()
    {
        AssertValid(Full with { Dependencies = Enumerable.Range(0, 256).ToDictionary(i => $"dep{i}", _ => "^1.0.0") });
        AssertInvalid(Full with { Dependencies = Enumerable.Range(0, 257).ToDictionary(i => $"dep{i}", _ => "^1.0.0") });
    }

    // readme

    [Fact]
    public void a_readme_of_exactly_64_kib_passes() => AssertValid(Full with { Readme = new string('r', 64 * 1024) });

    [Fact]
    public void a_readme_over_64_kib_is_invalid() => AssertInvalid(Full with { Readme = new string('r', 64 * 1024 + 1) });

    [Fact]
    public void the_readme_limit_counts_utf8_bytes_not_characters()
    {
        var euros = new string('€', 21846); // 21 846 characters, 65 538 bytes
        Assert.True(euros.Length < 64 * 1024);
        Assert.Equal(65538, Encoding.UTF8.GetByteCount(euros));
        AssertInvalid(Full with { Readme = euros });

        var accents = new string('é', 32768); // 2 bytes each: exactly 64 KiB
        AssertValid(Full with { Readme = accents });
    }
}
