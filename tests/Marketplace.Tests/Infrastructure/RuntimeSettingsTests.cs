using System.Text.Json;

namespace Marketplace.Tests.Infrastructure;

/// <summary>The runtime settings the service's build writes into its runtimeconfig.json (what every host starts it with).</summary>
public sealed class RuntimeSettingsTests
{
    [Fact]
    public void the_service_runs_its_thread_pool_without_spinning_idle_workers()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Marketplace.Functions.runtimeconfig.json");
        using var config = JsonDocument.Parse(File.ReadAllText(path));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
        Assert.True(properties.GetProperty("System.GC.Server").GetBoolean());
    }

    [Fact]
    public void the_service_tiers_its_code_up_without_an_instrumented_pass()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Marketplace.Functions.runtimeconfig.json");
        using var config = JsonDocument.Parse(File.ReadAllText(path));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.False(properties.GetProperty("System.Runtime.TieredPGO").GetBoolean());
    }
}
