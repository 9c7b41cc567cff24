using Marketplace.Packages;

namespace Marketplace.UnitTests.Packages;

public class PackageNameTests
{
    [Theory]
    [InlineData("Foo_Bar", "foo-bar")]
    [InlineData("foo.bar", "foo-bar")]
    [InlineData("foo-bar", "foo-bar")]
    [InlineData("FOO-BAR", "foo-bar")]
    [InlineData("foo_bar", "foo-bar")]
    public void spellings_of_one_name_normalise_to_one_key(string raw, string expected)
    {
        var outcome = PackageName.Normalize(raw);

        Assert.Null(outcome.Error);
        Assert.Equal(expected, outcome.Value);
    }

    [Fact]
    public void Foo_Bar_and_foo_dot_bar_are_one_package()
    {
        Assert.Equal(PackageName.Normalize("Foo_Bar").Value, PackageName.Normalize("foo.bar").Value);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("z")]
    [InlineData("a1")]
    [InlineData("a-")]
    [InlineData("a--b")]
    [InlineData("json5")]
    public void short_and_edge_names_are_valid(string raw)
    {
        var outcome = PackageName.Normalize(raw);

        Assert.Null(outcome.Error);
        Assert.Equal(raw, outcome.Value);
    }

    [Fact]
    public void a_name_of_exactly_64_characters_is_valid()
    {
        var raw = "a" + new string('b', 63);
        Assert.Equal(64, raw.Length);

        var outcome = PackageName.Normalize(raw);

        Assert.Null(outcome.Error);
        Assert.Equal(raw, outcome.Value);
    }

    [Fact]
    public void a_name_of_65_characters_is_invalid()
    {
        var raw = "a" + new string('b', 64);
        Assert.Equal(65, raw.Length);

        AssertInvalid(raw);
    }

    [Fact]
    public void a_null_name_is_invalid() => AssertInvalid(null);

    [Theory]
    [InlineData("")]                     // empty
    [InlineData("1abc")]                 // starts with a digit
    [InlineData("0")]
    [InlineData("-abc")]                 // starts with '-'
    [InlineData("_abc")]                 // '_' normalises to '-': still starts with '-'
    [InlineData(".abc")]                 // '.' normalises to '-'
    [InlineData("foo bar")]              // space
    [InlineData(" foo")]
    [InlineData("foo ")]
    [InlineData("foo/bar")]              // path separator
    [InlineData("foo\\bar")]
    [InlineData("..")]                   // path traversal
    [InlineData("../etc")]
    [InlineData("%2e%2e")]               // URL-encoded '..'
    [InlineData("foo%2ebar")]
    [InlineData("foo@1.0.0")]
    [InlineData("foo:bar")]
    [InlineData("foo\tbar")]
    [InlineData("foo\nbar")]
    [InlineData("foo\0")]                // NUL
    [InlineData("\0")]
    [InlineData("p\u0430ckage")]         // Cyrillic 'а' (U+0430) looks like Latin 'a'
    [InlineData("\u0430")]
    [InlineData("\uFF46\uFF4F\uFF4F")]   // full-width "ｆｏｏ"
    [InlineData("\uFF21bc")]             // full-width 'Ａ'
    [InlineData("\u0131nfo")]            // Turkish dotless 'ı' (U+0131)
    [InlineData("\u0130nfo")]            // Turkish dotted capital 'İ' (U+0130) lowercases to 'i' + U+0307
    [InlineData("\u212Aey")]             // Kelvin sign (U+212A) lowercases to 'k' in some APIs
    [InlineData("caf\u00e9")]            // Latin-1 'é'
    [InlineData("e\u0301")]              // combining acute accent
    [InlineData("foo\u200Bbar")]         // zero-width space
    [InlineData("rocket\U0001F680")]     // emoji (a surrogate pair)
    [InlineData("\U0001F680")]
    public void invalid_names_are_refused_with_invalid_name(string raw) => AssertInvalid(raw);

    [Fact]
    public void the_kelvin_sign_does_not_alias_k()
    {
        // Guard against a normaliser built on char.ToLowerInvariant, which maps U+212A to 'k'.
        Assert.Equal("k", "\u212A".ToLowerInvariant());
        Assert.NotNull(PackageName.Normalize("\u212A").Error);
        Assert.Equal("k", PackageName.Normalize("K").Value);
    }

    [Fact]
    public void every_non_ascii_character_is_refused_even_if_it_lowercases_to_ascii()
    {
        for (var c = (char)0x80; c < 0xFFFF; c++)
        {
            if (char.IsSurrogate(c)) continue;
            var outcome = PackageName.Normalize("a" + c);
            Assert.True(outcome.IsError, $"U+{(int)c:X4} was accepted");
            Assert.Equal("invalid-name", outcome.Error!.Code);
        }
    }

    [Fact]
    public void every_ascii_character_outside_the_alphabet_is_refused()
    {
        for (var c = (char)0; c < 0x80; c++)
        {
            var allowed = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '_' or '.';
            var outcome = PackageName.Normalize("a" + c);
            Assert.Equal(!allowed, outcome.IsError);
            if (outcome.IsError) Assert.Equal("invalid-name", outcome.Error!.Code);
        }
    }

    private static void AssertInvalid(string? raw)
    {
        var outcome = PackageName.Normalize(raw);

        Assert.True(outcome.IsError, $"'{raw}' was accepted as '{outcome.Value}'");
        Assert.Equal("invalid-name", outcome.Error!.Code);
        Assert.Equal(400, outcome.Error.Status);
        Assert.Null(outcome.Value);
    }
}
