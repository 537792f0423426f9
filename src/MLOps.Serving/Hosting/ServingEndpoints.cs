using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MLOps.Serving.Graphs;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Hosting;

/// <summary>
/// Hosts a <see cref="InferenceServer"/> in ASP.NET Core: <c>app.MapServingGraph(server)</c> maps one endpoint per route of
/// the Open Inference Protocol (KServe V2 REST) under <c>/v2</c>, answered by the same code as <see cref="InferenceServer.SendAsync"/>.
/// </summary>
/// <remarks>
/// <para>
/// Every <c>GET</c> and <c>POST</c> under <c>/v2</c> is answered as <see cref="InferenceServer.SendAsync"/> answers it; the answer is sent with
/// its status code and <c>Content-Type: application/json</c>, and a 503 (not ready) carries <c>Retry-After: 1</c>. The
/// request body is read from the request pipe up to <see cref="InferenceServerOptions.MaxRequestBytes"/>: a larger body (by
/// its <c>Content-Length</c>, or once the bytes received pass the limit) is answered 413 without being read further.
/// </para>
/// <para>
/// Graceful shutdown: when <see cref="IHostApplicationLifetime.ApplicationStopping"/> fires, <see cref="ServingHostState.IsStopping"/>
/// turns true and the readiness endpoints (<c>/v2/health/ready</c>, <c>/v2/models/{name}/ready</c>) answer 503
/// <c>{"ready": false}</c>, so a load balancer stops sending traffic, while requests in flight (counted by
/// <see cref="ServingHostState.InFlight"/>) run to completion: the host waits for them up to
/// <see cref="HostOptions.ShutdownTimeout"/> before it stops Kestrel. Liveness stays 200.
/// </para>
/// </remarks>
public static class ServingEndpoints
{

    /// <summary>
    /// Maps the routes of the Open Inference Protocol under <c>/v2</c> to the server, one endpoint per route with its name
    /// (<see cref="OpenInferenceEndpointNames"/>), summary, tag and response metadata: <c>GET /v2</c>,
    /// <c>/v2/health/live</c>, <c>/v2/health/ready</c>, <c>/v2/models</c>, <c>/v2/models/{name}[/versions/{version}]</c>
    /// and its <c>/ready</c>, and <c>POST .../infer</c> and <c>.../explain</c>; any other <c>GET</c> or <c>POST</c> under
    /// <c>/v2</c> is answered 404 or 405 with an <c>{"error"}</c> body by a catch-all route. The server must be loaded
    /// (<see cref="InferenceServer.LoadAsync"/>, or <see cref="ServingServiceCollectionExtensions.AddServing(IServiceCollection, ServingGraph, IInferenceModel[])"/>
    /// which loads it at startup) before it answers ready. When the server's options set no logger factory, it logs
    /// through the application's.
    /// </summary>
    /// <param name="endpoints">The application's endpoint route builder (a <c>WebApplication</c>).</param>
    /// <param name="server">The server that answers the requests.</param>
    /// <returns>The endpoints' convention builder: conventions on it apply to every route (<c>RequireAuthorization()</c>,
    /// <c>RequireRateLimiting(...)</c>); its properties give the routes of one operation (<c>.Infer</c>, <c>.Health</c>, ...).</returns>
    public static OpenInferenceEndpointConventionBuilder MapServingGraph(this IEndpointRouteBuilder endpoints, InferenceServer server)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(server);
        var state = endpoints.ServiceProvider.GetService<ServingHostState>() ?? new ServingHostState();
        if (endpoints.ServiceProvider.GetService<IHostApplicationLifetime>() is { } lifetime)
            state.Watch(lifetime);
        if (endpoints.ServiceProvider.GetService<ILoggerFactory>() is { } loggerFactory)
            server.UseLoggerFactory(loggerFactory);
        var handlers = new OpenInferenceHandlers(server, state);
        var group = endpoints.MapGroup("/v2");
        group.WithTags(Tag);

        IEndpointConventionBuilder Get(string pattern, OpenInferenceEndpoint endpoint, string name, string summary, params int[] errors)
            => Describe(group.MapGet(pattern, context => handlers.GetAsync(context, endpoint)), name, summary, errors);
        IEndpointConventionBuilder Post(string pattern, bool explain, string name, string summary)
            => Describe(group.MapPost(pattern, context => handlers.PostAsync(context, explain)), name, summary, 400, 404, 413, 500, 503);

        var health = new OpenInferenceEndpointConventionBuilder.Composite(
            Get("/health/live", OpenInferenceEndpoint.ServerLive, OpenInferenceEndpointNames.ServerLive, "Whether the server is live."),
            Get("/health/ready", OpenInferenceEndpoint.ServerReady, OpenInferenceEndpointNames.ServerReady, "Whether the graph and every model are ready (503 while loading or stopping).", 503));
        var metadata = new OpenInferenceEndpointConventionBuilder.Composite(
            Get("", OpenInferenceEndpoint.ServerMetadata, OpenInferenceEndpointNames.ServerMetadata, "The server's name, version and extensions."),
            Get("/models", OpenInferenceEndpoint.ModelList, OpenInferenceEndpointNames.ModelList, "The names of the served models (MLRun)."),
            Get("/models/{name}", OpenInferenceEndpoint.ModelMetadata, OpenInferenceEndpointNames.ModelMetadata, "A model's metadata.", 404),
            Get("/models/{name}/versions/{version}", OpenInferenceEndpoint.ModelMetadata, OpenInferenceEndpointNames.ModelVersionMetadata, "A model version's metadata.", 404));
        var readiness = new OpenInferenceEndpointConventionBuilder.Composite(
            Get("/models/{name}/ready", OpenInferenceEndpoint.ModelReady, OpenInferenceEndpointNames.ModelReady, "Whether a model is ready.", 404, 503),
            Get("/models/{name}/versions/{version}/ready", OpenInferenceEndpoint.ModelReady, OpenInferenceEndpointNames.ModelVersionReady, "Whether a model version is ready.", 404, 503));
        var infer = new OpenInferenceEndpointConventionBuilder.Composite(
            Post("/models/{name}/infer", false, OpenInferenceEndpointNames.ModelInfer, "Runs an inference request through the serving graph."),
            Post("/models/{name}/versions/{version}/infer", false, OpenInferenceEndpointNames.ModelVersionInfer, "Runs an inference request on a model version."));
        var explain = new OpenInferenceEndpointConventionBuilder.Composite(
            Post("/models/{name}/explain", true, OpenInferenceEndpointNames.ModelExplain, "Explains a model's predictions for a request (MLRun)."),
            Post("/models/{name}/versions/{version}/explain", true, OpenInferenceEndpointNames.ModelVersionExplain, "Explains a model version's predictions for a request."));
        var fallback = Describe(group.MapMethods("/{**path}", [HttpMethods.Get, HttpMethods.Post], handlers.FallbackAsync),
            OpenInferenceEndpointNames.Fallback, "Any other path under /v2: 404 (unknown path) or 405 (wrong method).", 404, 405);
        fallback.ExcludeFromDescription();
        return new OpenInferenceEndpointConventionBuilder(group, health, metadata, readiness, infer, explain, fallback);
    }

    /// <summary>The OpenAPI tag of the routes.</summary>
    private const string Tag = "Open Inference Protocol";

    private static readonly string[] JsonContent = [InferenceHttpResponse.ContentType];

    private static IEndpointConventionBuilder Describe(IEndpointConventionBuilder route, string name, string summary, params int[] errors)
    {
        route.WithName(name).WithDisplayName(name).WithSummary(summary)
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, null, JsonContent));
        foreach (int status in errors)
            route.WithMetadata(new ProducesResponseTypeMetadata(status, null, JsonContent));
        return route;
    }

    /// <summary>Maps the Open Inference Protocol to the <see cref="InferenceServer"/> registered by <see cref="ServingServiceCollectionExtensions.AddServing(IServiceCollection, ServingGraph, IInferenceModel[])"/>.</summary>
    /// <param name="endpoints">The application's endpoint route builder (a <c>WebApplication</c>).</param>
    /// <returns>The endpoints' convention builder (see <see cref="MapServingGraph(IEndpointRouteBuilder, InferenceServer)"/>).</returns>
    /// <exception cref="InvalidOperationException">No <see cref="InferenceServer"/> is registered.</exception>
    public static OpenInferenceEndpointConventionBuilder MapServingGraph(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var server = endpoints.ServiceProvider.GetService<InferenceServer>()
            ?? throw new InvalidOperationException("No InferenceServer is registered; call services.AddServing(graph, models) or pass the server to MapServingGraph.");
        return endpoints.MapServingGraph(server);
    }
}

/// <summary>
/// The state of the hosted serving endpoints during shutdown: whether the application is stopping (readiness then answers
/// 503) and how many requests are in flight. Registered by <c>services.AddServing(...)</c> (or register it yourself with
/// <c>services.AddSingleton&lt;ServingHostState&gt;()</c>) to observe it. Thread-safe.
/// </summary>
public sealed class ServingHostState
{
    private int _inFlight;
    private int _stopping;
    private int _watching;

    /// <summary>Whether <see cref="IHostApplicationLifetime.ApplicationStopping"/> has fired: readiness answers 503 from then on.</summary>
    public bool IsStopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>The number of requests to the serving endpoints being answered now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Marks the application as stopping (as <see cref="IHostApplicationLifetime.ApplicationStopping"/> does).</summary>
    public void MarkStopping() => Volatile.Write(ref _stopping, 1);

    internal void Watch(IHostApplicationLifetime lifetime)
    {
        if (Interlocked.Exchange(ref _watching, 1) == 0)
            lifetime.ApplicationStopping.Register(static s => ((ServingHostState)s!).MarkStopping(), this);
    }

    internal void Enter() => Interlocked.Increment(ref _inFlight);

    internal void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <inheritdoc />
    public override string ToString() => $"{(IsStopping ? "stopping" : "serving")}, {InFlight} in flight";
}
