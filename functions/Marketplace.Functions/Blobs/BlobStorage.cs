using Marketplace.Blobs;

namespace Marketplace.Functions.Blobs;

public static class BlobStorage
{
    /// <summary>Picks the blob store from <c>Blobs:Store</c> (<c>file</c>, the default, <c>s3</c> or <c>azure</c>) and fails fast on bad
    /// settings.</summary>
    public static IServiceCollection AddBlobStore(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("Blobs");
        var kind = section["Store"] ?? "file";
        switch (kind)
        {
            case "file":
                var file = section.GetSection("File").Get<FileBlobOptions>() ?? new FileBlobOptions();
                services.AddSingleton(sp => new FileBlobStore(
                    file, sp.GetRequiredService<IWebHostEnvironment>().ContentRootPath, sp.GetRequiredService<TimeProvider>()));
                services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<FileBlobStore>());
                services.AddSingleton<IBlobInventory>(sp => sp.GetRequiredService<FileBlobStore>());
                break;
            case "s3":
                var s3 = section.GetSection("S3").Get<S3BlobOptions>() ?? new S3BlobOptions();
                if (string.IsNullOrWhiteSpace(s3.Bucket))
                    throw new InvalidOperationException("Blobs:Store is 's3' but Blobs:S3:Bucket is not set.");
                services.AddSingleton(sp => new S3BlobStore(s3, sp.GetRequiredService<TimeProvider>()));
                services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<S3BlobStore>());
                services.AddSingleton<IBlobInventory>(sp => sp.GetRequiredService<S3BlobStore>());
                break;
            case "azure":
                var azure = section.GetSection("Azure").Get<AzureBlobOptions>() ?? new AzureBlobOptions();
                if (string.IsNullOrWhiteSpace(azure.ConnectionString))
                    throw new InvalidOperationException("Blobs:Store is 'azure' but Blobs:Azure:ConnectionString is not set.");
                if (!IsContainerName(azure.Container))
                    throw new InvalidOperationException(
                        $"Blobs:Store is 'azure' but Blobs:Azure:Container ('{azure.Container}') is not a container name " +
                        "(3-63 lowercase letters, digits and single hyphens).");
                if (!string.IsNullOrWhiteSpace(azure.CdnBaseUrl) && !AzureBlobOptions.IsCdnBaseUrl(azure.CdnBaseUrl))
                    throw new InvalidOperationException(
                        $"Blobs:Azure:CdnBaseUrl ('{azure.CdnBaseUrl}') must be an absolute https URL of the CDN host " +
                        "with no path, query or credentials (http only on a loopback host).");
                try
                {
                    // Parsed here (no request is made): a malformed connection string fails at startup with this message.
                    _ = new AzureBlobStore(azure, TimeProvider.System);
                }
                catch (FormatException e)
                {
                    throw new InvalidOperationException("Blobs:Azure:ConnectionString is not a storage connection string: " + e.Message, e);
                }
                services.AddSingleton(sp => new AzureBlobStore(azure, sp.GetRequiredService<TimeProvider>()));
                services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<AzureBlobStore>());
                services.AddSingleton<IBlobInventory>(sp => sp.GetRequiredService<AzureBlobStore>());
                break;
            default:
                throw new InvalidOperationException($"Blobs:Store is '{kind}'; expected 'file', 's3' or 'azure'.");
        }
        services.AddSingleton(section.GetSection("Orphans").Get<OrphanOptions>() ?? new OrphanOptions());
        services.AddSingleton<OrphanBlobCollector>();
        services.AddHostedService<OrphanBlobSweep>();
        return services;
    }

    private static bool IsContainerName(string? name) =>
        name is { Length: >= 3 and <= 63 } && name[0] != '-' && name[^1] != '-'
        && name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-') && !name.Contains("--", StringComparison.Ordinal);
}
