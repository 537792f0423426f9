using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers an <see cref="InferenceServer"/>: <c>services.AddMLOps(...).AddServing(graph, models)</c>, or
/// <c>services.AddServing(graph, models)</c> in a host without a project. Map it with <c>app.MapServingGraph()</c>.</summary>
public static class ServingServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="InferenceServer"/> over the graph serving the models, loaded when the host starts
    /// (the host does not start if a model fails to load), and the <see cref="ServingHostState"/>. Map it with
    /// <c>app.MapServingGraph()</c>. The graph is not disposed by the container. Each call registers one more server and loader.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="graph">The graph requests go through.</param>
    /// <param name="models">The models the graph serves.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddServing(this IServiceCollection services, ServingGraph graph, params IInferenceModel[] models)
        => services.AddServing(graph, null, models);

    /// <summary>Registers a singleton <see cref="InferenceServer"/> with options, loaded when the host starts; see <see cref="AddServing(IServiceCollection, ServingGraph, IInferenceModel[])"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="graph">The graph requests go through.</param>
    /// <param name="options">The server's name, version, extensions and body size limit; defaults when null.</param>
    /// <param name="models">The models the graph serves.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddServing(this IServiceCollection services, ServingGraph graph, InferenceServerOptions? options, params IInferenceModel[] models)
    {
        ArgumentNullException.ThrowIfNull(services);
        var server = InferenceServer.Create(graph, models, options);
        services.AddSingleton(server);
        Register(services, server);
        return services;
    }

    /// <summary>Registers the project's <see cref="InferenceServer"/> on the <c>AddMLOps</c> builder:
    /// <c>services.AddMLOps(...).AddFeatureStore().AddServing(graph, models)</c>. On a keyed builder
    /// (<c>AddKeyedMLOps("a", ...)</c>) the server is registered under the same key (map it with
    /// <c>app.MapServingGraph(app.Services.GetRequiredKeyedService&lt;InferenceServer&gt;("a"))</c>). The server is loaded
    /// when the host starts, after the project opened. Idempotent per key: a second call registers nothing.</summary>
    /// <param name="builder">The builder returned by <c>AddMLOps</c> or <c>AddKeyedMLOps</c>.</param>
    /// <param name="graph">The graph requests go through.</param>
    /// <param name="models">The models the graph serves.</param>
    /// <returns>The builder.</returns>
    public static IMLOpsBuilder AddServing(this IMLOpsBuilder builder, ServingGraph graph, params IInferenceModel[] models)
        => builder.AddServing(graph, null, models);

    /// <summary>Registers the project's <see cref="InferenceServer"/> with options on the <c>AddMLOps</c> builder; see
    /// <see cref="AddServing(IMLOpsBuilder, ServingGraph, IInferenceModel[])"/>.</summary>
    /// <param name="builder">The builder returned by <c>AddMLOps</c> or <c>AddKeyedMLOps</c>.</param>
    /// <param name="graph">The graph requests go through.</param>
    /// <param name="options">The server's name, version, extensions and body size limit; defaults when null.</param>
    /// <param name="models">The models the graph serves.</param>
    /// <returns>The builder.</returns>
    public static IMLOpsBuilder AddServing(this IMLOpsBuilder builder, ServingGraph graph, InferenceServerOptions? options, params IInferenceModel[] models)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var key = builder.ServiceKey;
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(InferenceServer) && Equals(d.ServiceKey, key)))
            return builder;
        var server = InferenceServer.Create(graph, models, options);
        if (key is null) services.AddSingleton(server);
        else services.AddKeyedSingleton(key, server);
        Register(services, server);
        return builder;
    }

    private static void Register(IServiceCollection services, InferenceServer server)
    {
        services.TryAddSingleton<ServingHostState>();
        services.AddSingleton<IHostedService>(new ServingLoader(server));
    }

    /// <summary>Loads the server when the host starts.</summary>
    private sealed class ServingLoader(InferenceServer server) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => server.LoadAsync(cancellationToken).AsTask();

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
