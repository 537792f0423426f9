using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOps.Serving.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the serving health checks on an <see cref="IHealthChecksBuilder"/>.</summary>
public static class ServingHealthChecksBuilderExtensions
{
    /// <summary>The default name of the model readiness check.</summary>
    public const string DefaultName = "mlops-serving-models";

    /// <summary>
    /// Adds a <see cref="ModelReadinessHealthCheck"/> of the <see cref="InferenceServer"/> registered in the container
    /// (<c>services.AddServing(...)</c>): healthy once the graph is initialized and every model is ready. Map it with
    /// <c>app.MapHealthChecks("/healthz/ready", new() { Predicate = c => c.Tags.Contains("ready") })</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status reported when a model is not ready; <see cref="HealthStatus.Unhealthy"/> when null.</param>
    /// <param name="tags">The check's tags (such as <c>ready</c>).</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddServingReadiness(this IHealthChecksBuilder builder, string name = DefaultName,
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Throw.IfNullOrWhitespace(name);
        return builder.Add(new HealthCheckRegistration(name,
            static services => new ModelReadinessHealthCheck(services.GetService<InferenceServer>()
                ?? throw new InvalidOperationException("No InferenceServer is registered; call services.AddServing(graph, models), or pass the server to AddServingReadiness.")),
            failureStatus, tags));
    }

    /// <summary>Adds a <see cref="ModelReadinessHealthCheck"/> of the given server.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="server">The server whose models to check.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status reported when a model is not ready; <see cref="HealthStatus.Unhealthy"/> when null.</param>
    /// <param name="tags">The check's tags.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddServingReadiness(this IHealthChecksBuilder builder, InferenceServer server, string name = DefaultName,
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(server);
        Throw.IfNullOrWhitespace(name);
        return builder.Add(new HealthCheckRegistration(name, new ModelReadinessHealthCheck(server), failureStatus, tags));
    }
}
