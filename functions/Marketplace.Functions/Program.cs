using Marketplace.Functions;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddMarketplace(builder.Configuration);

var app = builder.Build();
app.MapMarketplace();
app.Run();

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
