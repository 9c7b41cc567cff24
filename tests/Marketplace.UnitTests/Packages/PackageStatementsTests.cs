using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.UnitTests.Packages;

/// <summary>A verified statement checked against its request path: the command, or the error the endpoint answers.</summary>
public sealed class PackageStatementsTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly StatementSigner _alice = StatementSigner.Generate();
    private readonly StatementSigner _bob = StatementSigner.Generate();

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    private static SemanticVersion V(string text)
    {
        Assert.True(SemanticVersion.Parse(text).TryGet(out var version, out _));
        return version;
    }

    [Fact]
    public void a_publish_statement_must_spell_the_name_and_version_of_the_path()
    {
        var statement = new PublishStatement("Left-Pad", "1.0.0", new string('a', 64), 10, new PackageManifest(Description: "pads"), T0);
        Assert.Null(PackageStatements.CheckPublish(statement, "Left-Pad", V("1.0.0"), 100));
        Assert.Equal("statement-mismatch", PackageStatements.CheckPublish(statement, "left-pad", V("1.0.0"), 100)?.Code);
        Assert.Equal("statement-mismatch", PackageStatements.CheckPublish(statement, "Left-Pad", V("1.0.1"), 100)?.Code);
        Assert.Equal("too-large", PackageStatements.CheckPublish(statement, "Left-Pad", V("1.0.0"), 9)?.Code);
        Assert.Equal("invalid-digest", PackageStatements.CheckPublish(statement with { Sha256 = "AB" }, "Left-Pad", V("1.0.0"), 100)?.Code);
        Assert.Equal("invalid-statement", PackageStatements.CheckPublish(statement with { Size = 0 }, "Left-Pad", V("1.0.0"), 100)?.Code);
    }

    [Fact]
    public void a_yank_statement_becomes_a_yank_of_the_paths_version_and_an_unyank_drops_the_reason()
    {
        var yank = PackageStatements.Yank(new YankStatement("yank", "Left_Pad", "1.0.0", "broken", T0), "left-pad", "left-pad", V("1.0.0"), "1.0.0", _alice.Owner);
        Assert.True(yank.TryGet(out var command, out _));
        Assert.Equal(new PackageDecider.Yank("left-pad", V("1.0.0"), true, "broken", _alice.Owner), command);

        var unyank = PackageStatements.Yank(new YankStatement("unyank", "left-pad", "1.0.0", "fixed", T0), "left-pad", "left-pad", V("1.0.0"), "1.0.0", _alice.Owner);
        Assert.True(unyank.TryGet(out var undo, out _));
        Assert.False(undo.Yanked);
        Assert.Null(undo.Reason);
    }

    [Theory]
    [InlineData("delete", "left-pad", "1.0.0", "invalid-statement")]
    [InlineData("yank", "right-pad", "1.0.0", "statement-mismatch")]
    [InlineData("yank", "left-pad", "1.0.1", "statement-mismatch")]
    public void a_yank_statement_for_another_action_name_or_version_is_refused(string action, string name, string version, string code)
    {
        var outcome = PackageStatements.Yank(new YankStatement(action, name, version, null, T0), "left-pad", "left-pad", V("1.0.0"), "1.0.0", _alice.Owner);
        Assert.False(outcome.TryGet(out _, out var error));
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void an_owner_statement_adds_a_key_only_with_its_matching_public_key()
    {
        var bob = _bob.Owner;
        var add = PackageStatements.ChangeOwner(new OwnersStatement("add", "left-pad", bob.KeyId, bob.PublicKey, T0), "left-pad", "left-pad", _alice.Owner);
        Assert.True(add.TryGet(out var command, out _));
        Assert.Equal(new PackageDecider.ChangeOwner("left-pad", true, bob.KeyId, bob.PublicKey, _alice.Owner), command);

        var mismatched = PackageStatements.ChangeOwner(new OwnersStatement("add", "left-pad", _alice.Owner.KeyId, bob.PublicKey, T0), "left-pad", "left-pad", _alice.Owner);
        Assert.Equal("invalid-statement", mismatched.Error?.Code);
        var malformed = PackageStatements.ChangeOwner(new OwnersStatement("remove", "left-pad", "ed25519:XYZ", null, T0), "left-pad", "left-pad", _alice.Owner);
        Assert.Equal("invalid-statement", malformed.Error?.Code);
        var elsewhere = PackageStatements.ChangeOwner(new OwnersStatement("remove", "right-pad", bob.KeyId, null, T0), "left-pad", "left-pad", _alice.Owner);
        Assert.Equal("statement-mismatch", elsewhere.Error?.Code);
    }

    [Fact]
    public void a_trusted_publisher_may_be_added_only_for_an_issuer_the_registry_accepts()
    {
        var statement = new TrustedPublisherStatement("add", "left-pad", "https://token.actions.githubusercontent.com/", "acme/left-pad", "release.yml", null, null, T0);
        var accepted = PackageStatements.TrustedPublishers(statement, "left-pad", "left-pad", _alice.Owner, issuer => issuer == "https://token.actions.githubusercontent.com");
        Assert.True(accepted.TryGet(out var decide, out _));
        Assert.True(decide(null, T0).IsError);  // the decider still needs an existing package

        var unknown = PackageStatements.TrustedPublishers(statement, "left-pad", "left-pad", _alice.Owner, _ => false);
        Assert.Equal("invalid-statement", unknown.Error?.Code);
        var require = PackageStatements.TrustedPublishers(statement with { Action = "require" }, "left-pad", "left-pad", _alice.Owner, _ => true);
        Assert.Equal("invalid-statement", require.Error?.Code);
    }
}
