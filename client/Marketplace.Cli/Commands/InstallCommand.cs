using System.CommandLine;
using Marketplace.Client.Http;
using Marketplace.Client.Installing;
using Marketplace.Client.Resolution;

namespace Marketplace.Cli.Commands;

/// <summary>
/// <c>mkt install [name[@range]…] [--dir DIR] [--frozen]</c>: resolves, verifies everything, then unpacks into DIR
/// (default <c>./mkt_packages</c>, one folder per package) and writes <c>DIR/mkt.lock</c>. Without names it installs
/// what the lockfile requires, exactly as locked.
/// </summary>
internal static class InstallCommand
{
    public static Command Create(GlobalOptions options, CliContext context)
    {
        var specs = new Argument<string[]>("packages") { Description = "name or name@range (npm syntax; quote ranges with spaces)", Arity = ArgumentArity.ZeroOrMore };
        var dir = new Option<string>("--dir") { Description = "Install folder (holds one folder per package and mkt.lock)", DefaultValueFactory = _ => "mkt_packages" };
        var frozen = new Option<bool>("--frozen") { Description = "Fail instead of changing mkt.lock (reproduce exactly what it locks)" };
        var command = new Command("install", "Resolve, verify and install packages with their dependencies.") { specs, dir, frozen };
        MktApp.Bind(command, options, context, async (run, ct) =>
        {
            var requirements = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var spec in run.Value(specs) ?? [])
            {
                var (name, range) = Specs.NameAndVersion(spec, versionRequired: false);
                requirements[name] = range;
            }
            var target = run.Context.Resolve(run.Value(dir)!);
            using var client = run.Settings.Client();
            var result = await run.Output.WithProgressAsync(bars =>
                new Installer(client).InstallAsync(new InstallRequest(target, requirements) { Frozen = run.Value(frozen) }, new Observer(run.Output, bars), ct));
            if (run.Output.Json)
            {
                run.Output.WriteJson(new { directory = target, lockfile = result.LockfilePath, result.LockfileChanged, packages = result.Packages });
                return ExitCodes.Ok;
            }
            var table = Output.Table("package", "version", "sha256", "signed by", "");
            foreach (var p in result.Packages)
                Output.Row(table, p.Name, p.Version, p.Sha256[..12] + "…", p.KeyId,
                    string.Join(", ", new[] { p.FromLockfile ? "locked" : null, p.Yanked ? "yanked" : null }.OfType<string>()));
            run.Output.Write(table);
            run.Output.Success($"installed {result.Packages.Count} package(s) into {target}; {Lockfile.FileName} {(result.LockfileChanged ? "written" : "unchanged")}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private sealed class Observer(Output output, Output.Bars bars) : IInstallObserver
    {
        public void Resolved(DependencyGraph graph) =>
            output.Note($"resolved {graph.Packages.Count} package(s): {string.Join(", ", graph.Packages.Select(p => $"{p.Name}@{p.Version}"))}");

        public IProgress<TransferProgress>? Downloading(string name, string version, long size) => bars.Add($"{name}@{version}", size);

        public void Verified(InstalledPackage package) =>
            output.Note($"verified {package.Name}@{package.Version}: signature, owner at publish, log inclusion, sha256");
    }
}
