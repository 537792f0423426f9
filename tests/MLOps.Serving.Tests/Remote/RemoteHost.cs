using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;

namespace MLOps.Serving.Tests.Remote;

/// <summary>
/// A remote V2 server for the tests: a real Kestrel on 127.0.0.1 (a free port) hosting an InferenceServer over the
/// models, or stub endpoints. Each test starts its own, so tests do not share state; dispose it to stop it.
/// </summary>
internal sealed class RemoteHost : IAsyncDisposable
{
    /// <summary>The model name the stub endpoints of <see cref="StubAsync"/> answer for.</summary>
    public const string StubModel = "stub";

    private readonly WebApplication _app;
    private readonly ServingGraph? _graph;
    private int _stopped;

    private RemoteHost(WebApplication app, ServingGraph? graph)
    {
        _app = app;
        _graph = graph;
        Address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        Client = new HttpClient { BaseAddress = Address };
    }

    /// <summary>The server's root, such as http://127.0.0.1:51234.</summary>
    public Uri Address { get; }

    /// <summary>A client whose BaseAddress is <see cref="Address"/>.</summary>
    public HttpClient Client { get; }

    /// <summary>Serves the models over the Open Inference Protocol, as a production host does (AddServing + MapServingGraph).</summary>
    public static Task<RemoteHost> ServeAsync(params IInferenceModel[] models) => ServeAsync(null, models);

    /// <summary>Serves the models with server options.</summary>
    public static async Task<RemoteHost> ServeAsync(InferenceServerOptions? options, params IInferenceModel[] models)
    {
        var router = ServingGraph.Router("remote");
        foreach (var model in models)
            router.Route(new ModelStep(model));
        var graph = router.Build();
        var app = Create(services => services.AddServing(graph, options, models));
        app.MapServingGraph();
        return await StartAsync(app, graph);
    }

    /// <summary>Serves a graph the caller owns (and disposes) over the Open Inference Protocol.</summary>
    public static async Task<RemoteHost> ServeGraphAsync(ServingGraph graph, params IInferenceModel[] models)
    {
        var app = Create(services => services.AddServing(graph, models));
        app.MapServingGraph();
        return await StartAsync(app, null);
    }

    /// <summary>
    /// A stub remote: <c>GET /v2/models/stub</c> answers small V2 metadata, <c>.../ready</c> 200, and
    /// <c>POST .../infer</c> runs <paramref name="infer"/>.
    /// </summary>
    public static async Task<RemoteHost> StubAsync(RequestDelegate infer)
    {
        var app = Create(_ => { });
        app.MapGet($"/v2/models/{StubModel}", (RequestDelegate)(c => Answer(c, 200, $$"""{"name":"{{StubModel}}","platform":"stub","inputs":[],"outputs":[]}""")));
        app.MapGet($"/v2/models/{StubModel}/ready", (RequestDelegate)(c => Answer(c, 200, """{"ready":true}""")));
        app.MapPost($"/v2/models/{StubModel}/infer", infer);
        return await StartAsync(app, null);
    }

    /// <summary>Writes a JSON answer.</summary>
    public static Task Answer(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(json);
    }

    /// <summary>Stops Kestrel: the port is closed from then on.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
            await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await StopAsync();
        await _app.DisposeAsync();
        if (_graph is not null)
            await _graph.DisposeAsync();
    }

    private static WebApplication Create(Action<IServiceCollection> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        configure(builder.Services);
        return builder.Build();
    }

    private static async Task<RemoteHost> StartAsync(WebApplication app, ServingGraph? graph)
    {
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            if (graph is not null)
                await graph.DisposeAsync();
            throw;
        }
        return new RemoteHost(app, graph);
    }
}
