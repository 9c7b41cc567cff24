using Marketplace.Functions;
using Marketplace.Functions.Serverless;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.UseOwnerConnectionForOperatorCommands(args);
builder.Services.AddMarketplace(builder.Configuration);

var app = builder.Build();
if (SchemaCommand.IsRequested(args)) return await SchemaCommand.RunAsync(app);
if (RebuildCommand.IsRequested(args)) return await RebuildCommand.RunAsync(app, args);
if (Marketplace.Functions.Search.Typesense.TypesenseReindex.IsRequested(args))
    return await Marketplace.Functions.Search.Typesense.TypesenseReindex.RunAsync(app);
if (Marketplace.Functions.Audit.MirrorImport.IsRequested(args)) return await Marketplace.Functions.Audit.MirrorImport.RunAsync(app, args);
if (Marketplace.Functions.Blobs.OrphanCollectCommand.IsRequested(args)) return await Marketplace.Functions.Blobs.OrphanCollectCommand.RunAsync(app);
app.MapMarketplace();
app.Run();
return 0;

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
