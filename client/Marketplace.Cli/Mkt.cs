namespace Marketplace.Cli;

/// <summary>The <c>mkt</c> executable: the process's streams, variables and signals, handed to <see cref="MktApp"/>.</summary>
public static class Mkt
{
    public static Task<int> Main(string[] args) => MktApp.RunAsync(args, CliContext.FromProcess());
}
