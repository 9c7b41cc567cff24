using System.Diagnostics;
using System.Text;
using Marketplace.Client.Tests.Support;

namespace Marketplace.Client.Tests.EndToEnd;

/// <summary>
/// The README's quick start, run as written: every line of it is executed here (mkt through the CLI's own entry
/// point, the file and folder lines by a tiny interpreter), so the README cannot drift from what works. The checkout's
/// README.md must hold the quick start between its markers, and it must be exactly this one.
/// </summary>
[Collection("journey")]
public sealed class QuickStartTests(JourneyRegistry registry)
{
    public const string Begin = "<!-- mkt quick start -->";
    public const string End = "<!-- /mkt quick start -->";

    public const string QuickStart = """
        mkt key new
        mkdir hello && cd hello
        cat > mkt.json <<'EOF'
        {
          "name": "hello",
          "version": "1.0.0",
          "description": "Prints a friendly greeting",
          "authors": ["Ada <ada@example.com>"],
          "license": "MIT",
          "keywords": ["greeting"]
        }
        EOF
        echo 'echo hello' > hello.sh
        mkt publish . --wait
        mkt search greeting
        mkt info hello@1.0.0
        cd ..
        mkt install hello --dir app
        mkt install --dir app --frozen
        mkt log checkpoint
        mkt log verify hello
        """;

    [Fact]
    public async Task the_readme_quick_start_runs_as_written()
    {
        var readme = FindReadme();
        if (readme is not null)
        {
            var text = File.ReadAllText(readme);
            Assert.True(text.Contains(Begin, StringComparison.Ordinal) && text.Contains(End, StringComparison.Ordinal),
                "README.md keeps the quick start between its markers");
            var start = text.IndexOf(Begin, StringComparison.Ordinal) + Begin.Length;
            var block = text[start..text.IndexOf(End, start, StringComparison.Ordinal)];
            var fenced = block[(block.IndexOf('\n', block.IndexOf("```", StringComparison.Ordinal)) + 1)..block.LastIndexOf("```", StringComparison.Ordinal)];
            Assert.Equal(QuickStart.ReplaceLineEndings("\n").Trim(), fenced.ReplaceLineEndings("\n").Trim());
        }

        using var mkt = new CliRunner(registry.Url);
        var lines = QuickStart.ReplaceLineEndings("\n").Split('\n');
        var transcript = new StringBuilder();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            transcript.AppendLine("$ " + line);
            if (line.StartsWith("mkt ", StringComparison.Ordinal))
            {
                var result = await mkt.RunAsync(Words(line[4..]));
                transcript.Append(result.Out).Append(result.Error);
                Assert.True(result.ExitCode == 0, $"quick start line '{line}' failed:\n{transcript}");
            }
            else if (line.StartsWith("cat > ", StringComparison.Ordinal))
            {
                var file = line[6..line.IndexOf(" <<", StringComparison.Ordinal)];
                var content = new StringBuilder();
                while (lines[++i].Trim() != "EOF") content.Append(lines[i]).Append('\n');
                File.WriteAllText(Path.Combine(mkt.WorkingDirectory, file), content.ToString());
            }
            else if (line.StartsWith("echo ", StringComparison.Ordinal))
            {
                var words = Words(line[5..]);
                File.WriteAllText(Path.Combine(mkt.WorkingDirectory, words[2]), words[0] + "\n");
            }
            else
            {
                foreach (var part in line.Split("&&", StringSplitOptions.TrimEntries))
                {
                    var words = Words(part);
                    var folder = Path.GetFullPath(Path.Combine(mkt.WorkingDirectory, words[1]));
                    if (words[0] == "mkdir") Directory.CreateDirectory(folder);
                    else if (words[0] == "cd") mkt.WorkingDirectory = folder;
                    else Assert.Fail($"the quick start has a line this test cannot run: {line}");
                }
            }
        }
        var output = transcript.ToString();
        Assert.Contains("hello", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(mkt.WorkingDirectory, "app", "hello", "hello.sh")), output);
        Assert.True(File.Exists(Path.Combine(mkt.WorkingDirectory, "app", "mkt.lock")), output);
    }

    [Fact]
    public async Task the_built_mkt_runs_as_a_process_with_its_exit_codes()
    {
        // The CLI's own build output (its deps.json, not the test's): bin/<configuration>/<framework>/mkt.dll.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var mkt = Path.Combine(Path.GetDirectoryName(FindReadme()!)!, "client", "Marketplace.Cli", "bin", framework.Parent!.Name, framework.Name, "mkt.dll");
        Assert.True(File.Exists(mkt), mkt);
        var home = Directory.CreateTempSubdirectory("mkt-process-").FullName;
        try
        {
            Assert.Equal(0, (await Run(mkt, home, "--version")).Code);
            Assert.Equal(2, (await Run(mkt, home)).Code);
            var missing = await Run(mkt, home, "info", "no-such-package-" + Guid.NewGuid().ToString("n")[..8]);
            Assert.True(missing.Code == 4, missing.Output);
            Assert.Contains("not-found", missing.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("\u001b[", missing.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private async Task<(int Code, string Output)> Run(string dll, string home, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["MKT_REGISTRY"] = registry.Url.ToString();
        start.Environment["MKT_HOME"] = home;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output + await error);
    }

    /// <summary>Splits a command line the way sh would for these lines: spaces, single and double quotes.</summary>
    private static string[] Words(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        var any = false;
        foreach (var c in line)
        {
            if (quote is { } q)
            {
                if (c == q) quote = null;
                else current.Append(c);
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                any = true;
            }
            else if (c == ' ')
            {
                if (current.Length > 0 || any) words.Add(current.ToString());
                current.Clear();
                any = false;
            }
            else current.Append(c);
        }
        if (current.Length > 0 || any) words.Add(current.ToString());
        return [.. words];
    }

    private static string? FindReadme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
                return Path.Combine(dir.FullName, "README.md");
        return null;
    }
}
