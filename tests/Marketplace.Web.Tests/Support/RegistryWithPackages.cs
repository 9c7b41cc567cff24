using Marketplace.Signing;
using Microsoft.Playwright;

namespace Marketplace.Web.Tests.Support;

/// <summary>
/// A registry with a small, known set of packages (its own schema, so names are plain) and a browser:
/// <list type="bullet">
/// <item><c>left-pad</c> 1.0.0, 1.1.0 and 2.0.0, the last yanked with a reason; downloaded; a README with a table, code and an https picture</item>
/// <item><c>pad-app</c>, whose latest version depends on <c>left-pad</c></item>
/// <item><c>old-user</c>, which depended on <c>left-pad</c> in 1.0.0 but not in its latest 2.0.0</item>
/// <item><c>evil-readme</c>, whose README and description carry script, event handlers, javascript: links and style</item>
/// </list>
/// </summary>
public sealed class RegistryWithPackages : WebFixture
{
    public const string HostileReadme = """
        # Hostile readme

        Plain text survives.

        <script>alert('script')</script>
        <img src=x onerror="alert('onerror')">
        <svg onload="alert('svg')"><circle r="5"/></svg>
        <style>body { display: none }</style>
        <iframe src="javascript:alert('iframe')"></iframe>
        <a href="javascript:alert('link')" id="js-link">a javascript link</a>
        [markdown javascript link](javascript:alert('md'))
        <a href="data:text/html,<script>alert('data')</script>" id="data-link">a data link</a>
        <p style="position:fixed;top:0" onclick="alert('click')" id="styled">styled paragraph</p>
        <form action="https://evil.example/"><input name="x"><button>send</button></form>
        ![tracker](http://insecure.example/pixel.png)
        """;

    public StatementSigner Owner { get; } = StatementSigner.Generate();
    public StatementSigner Other { get; } = StatementSigner.Generate();
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        const string readme = """
            # left-pad

            Pads a string on the left. **Fast**, tiny and signed.

            ![badge](https://img.example/badge.png)

            ```csharp
            var padded = LeftPad.Pad("5", 3, '0'); // "005"
            ```

            | width | result |
            |------:|--------|
            | 3     | `005`  |
            """;
        await PublishAsync(Owner, "left-pad", "1.0.0", Manifest("Pads strings on the left.", readme, keywords: ["text", "padding"], categories: ["text"]));
        await PublishAsync(Owner, "left-pad", "1.1.0", Manifest("Pads strings on the left.", readme, keywords: ["text", "padding"], categories: ["text"]));
        await PublishAsync(Owner, "left-pad", "2.0.0", Manifest("Pads strings on the left.", readme, keywords: ["text", "padding"], categories: ["text"]));
        await YankAsync(Owner, "left-pad", "2.0.0", "breaks padding of emoji");
        await PublishAsync(Other, "pad-app", "1.0.0", Manifest("An app that pads.", "# pad-app", new Dictionary<string, string> { ["left-pad"] = "^1.1.0" }, keywords: ["app"], categories: ["apps"], license: "Apache-2.0"));
        await PublishAsync(Other, "old-user", "1.0.0", Manifest("Used left-pad once.", null, new Dictionary<string, string> { ["left-pad"] = "^1.0.0" }, keywords: ["text"], categories: ["text"]));
        await PublishAsync(Other, "old-user", "2.0.0", Manifest("Pads by itself now.", null, keywords: ["text"], categories: ["text"]));
        await PublishAsync(Other, "evil-readme", "0.1.0", Manifest("<b>bold</b> <script>alert('description')</script>", HostileReadme, keywords: ["security"], categories: ["testing"]));
        for (var i = 0; i < 3; i++) await DownloadAsync("left-pad", "1.1.0");
        await CaughtUpAsync();
        (Playwright, Browser) = await Support.Browser.LaunchAsync();
    }

    public override async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
        Owner.Dispose();
        Other.Dispose();
        await base.DisposeAsync();
    }

    public Task<WatchedPage> OpenAsync(int width = 1280, int height = 900, ColorScheme scheme = ColorScheme.Light) =>
        WatchedPage.OpenAsync(Browser, Url, width, height, scheme);
}

[CollectionDefinition("browser")]
public sealed class BrowserCollection : ICollectionFixture<RegistryWithPackages>;
