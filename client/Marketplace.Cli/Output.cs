using System.Text.Json;
using Marketplace.Client;
using Marketplace.Client.Http;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Marketplace.Cli;

/// <summary>
/// What a command prints. Tables and messages go to stdout, progress bars and errors to stderr; colours and live
/// progress only when that stream is a terminal (and NO_COLOR is unset), plain text otherwise; <c>--json</c> prints
/// one JSON document on stdout and nothing else there.
/// </summary>
internal sealed class Output
{
    private readonly CliContext _context;

    public Output(CliContext context, bool json)
    {
        _context = context;
        Json = json;
        Console = Create(context.Out, context.OutIsTerminal, context.Colors);
        ErrorConsole = Create(context.Error, context.ErrorIsTerminal, context.Colors);
    }

    public bool Json { get; }
    public IAnsiConsole Console { get; }
    public IAnsiConsole ErrorConsole { get; }

    private static IAnsiConsole Create(TextWriter writer, bool terminal, bool colors)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal && colors ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
            console.Profile.Width = 1000; // a file or a pipe has no width: never wrap a table there
        return console;
    }

    public void WriteJson<T>(T value) => _context.Out.WriteLine(JsonSerializer.Serialize(value, ClientJson.Indented));

    /// <summary>A line of plain text (never parsed as markup: registry data may hold brackets; never wrapped in a pipe).</summary>
    public void Line(string text)
    {
        if (_context.OutIsTerminal) Console.WriteLine(text);
        else _context.Out.WriteLine(text);
    }

    public void Success(string text)
    {
        if (Json) return;
        if (!_context.OutIsTerminal)
        {
            _context.Out.WriteLine("✓ " + text);
            return;
        }
        Console.Write(new Text("✓ ", new Style(Color.Green)));
        Console.WriteLine(text);
    }

    public void Note(string text)
    {
        if (Json) return;
        if (_context.ErrorIsTerminal) ErrorConsole.WriteLine(text, new Style(Color.Grey));
        else _context.Error.WriteLine(text);
    }

    public void Error(string text)
    {
        if (!_context.ErrorIsTerminal)
        {
            _context.Error.WriteLine("mkt: " + text);
            return;
        }
        ErrorConsole.Write(new Text("mkt: ", new Style(Color.Red, decoration: Decoration.Bold)));
        ErrorConsole.WriteLine(text);
    }

    public void Write(IRenderable renderable) => Console.Write(renderable);

    public static Table Table(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in columns) table.AddColumn(new TableColumn(new Text(column, new Style(decoration: Decoration.Bold))));
        return table;
    }

    public static void Row(Table table, params string?[] cells) => table.AddRow(cells.Select(c => (IRenderable)new Text(c ?? "")).ToArray());

    /// <summary>
    /// Runs <paramref name="work"/> with progress bars on stderr when it is a terminal; otherwise the bars are null and
    /// nothing is drawn.
    /// </summary>
    public async Task<T> WithProgressAsync<T>(Func<Bars, Task<T>> work)
    {
        if (!_context.ErrorIsTerminal)
            return await work(new Bars(null));
        return await new Progress(ErrorConsole)
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(context => work(new Bars(context)));
    }

    /// <summary>Adds transfer bars to a running progress display (or does nothing without one).</summary>
    public sealed class Bars(ProgressContext? context)
    {
        public IProgress<TransferProgress>? Add(string label, long total)
        {
            if (context is null) return null;
            var task = context.AddTask(Markup.Escape(label), autoStart: true, maxValue: Math.Max(total, 1));
            return new Reporter(task);
        }

        private sealed class Reporter(ProgressTask task) : IProgress<TransferProgress>
        {
            public void Report(TransferProgress value) => task.Value = value.Transferred;
        }
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes / (1024.0 * 1024):0.0} MiB",
    };
}
