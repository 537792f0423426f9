using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MLOps.Serving.Hosting;

/// <summary>
/// An <see cref="IHealthCheck"/> of an <see cref="InferenceServer"/>'s readiness: healthy when its graph is initialized and
/// every served model is loaded and ready, unhealthy (naming the models that are not) otherwise. The data lists each
/// model's readiness. Register it with <c>services.AddHealthChecks().AddServingReadiness()</c>.
/// </summary>
public sealed class ModelReadinessHealthCheck : IHealthCheck
{
    private readonly InferenceServer _server;

    /// <summary>Checks the given server.</summary>
    /// <param name="server">The server whose models to check.</param>
    public ModelReadinessHealthCheck(InferenceServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        _server = server;
    }

    /// <summary>Checks that the graph is initialized and every model ready.</summary>
    /// <param name="context">The registration being checked.</param>
    /// <param name="cancellationToken">Not used: the check reads in-memory state.</param>
    /// <returns>Healthy, or the registration's failure status with the models that are not ready.</returns>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var server = _server;
        var data = new Dictionary<string, object>(StringComparer.Ordinal) { ["graph_initialized"] = server.Graph.IsInitialized };
        List<string>? notReady = null;
        foreach (var model in server.Models)
        {
            bool ready = model.IsReady;
            data[model.Version is null ? model.Name : $"{model.Name}:{model.Version}"] = ready;
            if (!ready)
                (notReady ??= []).Add(model.Name);
        }
        if (notReady is null && server.Graph.IsInitialized)
            return Task.FromResult(HealthCheckResult.Healthy($"The serving graph '{server.Graph.Name}' and its {server.Models.Count} models are ready.", data));
        string description = notReady is null
            ? $"The serving graph '{server.Graph.Name}' is not initialized; the server loads it on InferenceServer.LoadAsync (AddServing does that at startup)."
            : $"The models {string.Join(", ", notReady.Select(n => $"'{n}'"))} of the serving graph '{server.Graph.Name}' are not ready{(server.Graph.IsInitialized ? "" : " and the graph is not initialized")}.";
        return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, description, data: data));
    }
}
