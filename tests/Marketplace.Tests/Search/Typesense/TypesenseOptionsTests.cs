using Marketplace.Functions.Search.Typesense;
using Marketplace.Search;

namespace Marketplace.Tests.Search.Typesense;

public sealed class TypesenseOptionsTests
{
    private static List<string> Problems(TypesenseOptions options) =>
        new TypesenseOptionsValidation().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void a_url_and_a_key_are_enough()
    {
        Assert.Empty(Problems(new TypesenseOptions { Url = "https://search.example:8108", ApiKey = "k" }));
        Assert.Empty(Problems(new TypesenseOptions { Url = "http://127.0.0.1:8108", ApiKeySecretArn = "arn:aws:secretsmanager:eu-west-1:1:secret:ts" }));
        Assert.Equal(new Uri("https://search.example/typesense/"), new TypesenseOptions { Url = "https://search.example/typesense" }.BaseUri);
    }

    [Fact]
    public void a_bad_configuration_is_named_setting_by_setting()
    {
        var problems = Problems(new TypesenseOptions
        {
            Url = "search.example",
            Collection = "packages v2",
            BatchSize = 0,
            Timeout = TimeSpan.Zero,
            Retries = -1,
        });
        Assert.Contains(problems, p => p.StartsWith("Typesense:Url", StringComparison.Ordinal) && p.Contains("search.example", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Typesense:ApiKey is not set", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Typesense:Collection", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Typesense:BatchSize", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Typesense:Timeout", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Typesense:Retries", StringComparison.Ordinal));
    }

    [Fact]
    public void a_secret_holds_the_key_plain_or_as_json()
    {
        Assert.Equal("abc", TypesenseApiKey.FromSecret(" abc\n"));
        Assert.Equal("abc", TypesenseApiKey.FromSecret("""{"apiKey":"abc"}"""));
        Assert.Equal("abc", TypesenseApiKey.FromSecret("""{"api_key":"abc"}"""));
        Assert.Throws<InvalidOperationException>(() => TypesenseApiKey.FromSecret("""{"key":"abc"}"""));
    }

    [Fact]
    public void a_document_shows_the_latest_non_yanked_version_and_unix_seconds()
    {
        var entry = new SearchEntry { Name = "tool", DisplayName = "Tool", Downloads = 7 };
        entry.Versions.Add(new SearchVersion { Key = "1.0.0", Version = "1.0.0", PublishedAt = DateTimeOffset.FromUnixTimeSeconds(100), Description = "old", Keywords = ["a"] });
        entry.Versions.Add(new SearchVersion { Key = "2.0.0", Version = "2.0.0+build.5", PublishedAt = DateTimeOffset.FromUnixTimeSeconds(200), Yanked = true });

        var document = TypesenseSchema.Document("tool", entry);

        Assert.Equal("""{"id":"tool","name":"tool","display_name":"Tool","version":"1.0.0","description":"old","keywords":["a"],"categories":[],"authors":[],"downloads":7,"updated_at":200}""",
            TypesenseSchema.Line(document));
    }
}
