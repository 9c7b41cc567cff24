using Marketplace.Blobs;

namespace Marketplace.Functions.Blobs;

public static class BlobStorage
{
    /// <summary>Picks the blob store from <c>Blobs:Store</c> (<c>file</c>, the default, or <c>s3</c>) and fails fast on bad settings.</summary>
    public static IServiceCollection AddBlobStore(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("Blobs");
        var kind = section["Store"] ?? "file";
        switch (kind)
        {
            case "file":
                var file = section.GetSection("File").Get<FileBlobOptions>() ?? new FileBlobOptions();
                services.AddSingleton(sp => new FileBlobStore(file, sp.GetRequiredService<IWebHostEnvironment>().ContentRootPath, sp.GetRequiredService<TimeProvider>()));
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
            default:
                throw new InvalidOperationException($"Blobs:Store is '{kind}'; expected 'file' or 's3'.");
        }
        services.AddSingleton(section.GetSection("Orphans").Get<OrphanOptions>() ?? new OrphanOptions());
        services.AddSingleton<OrphanBlobCollector>();
        services.AddHostedService<OrphanBlobSweep>();
        return services;
    }
}
