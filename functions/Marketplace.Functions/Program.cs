using Marketplace.Functions;
using Marketplace.Functions.Serverless;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddMarketplace(builder.Configuration);

var app = builder.Build();
if (SchemaCommand.IsRequested(args)) return await SchemaCommand.RunAsync(app);
app.MapMarketplace();
app.Run();
return 0;

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
