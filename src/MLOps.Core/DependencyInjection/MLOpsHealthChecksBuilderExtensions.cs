using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOps;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Health checks of MLOps.Core for ASP.NET Core health endpoints: <c>services.AddHealthChecks().AddMLOpsMetadataStore()</c>.</summary>
public static class MLOpsHealthChecksBuilderExtensions
{
    /// <summary>The default name of the metadata store check (suffixed with <c>-&lt;service key&gt;</c> for a keyed project).</summary>
    public const string MetadataStoreCheckName = "mlops-metadata-store";

    /// <summary>
    /// Checks that the project registered by <c>AddMLOps</c> (or <c>AddKeyedMLOps(serviceKey)</c>) is open and that its
    /// metadata store answers a read of the project record. Healthy with data <c>project</c> and <c>store</c>; the failure
    /// status (default <see cref="HealthStatus.Unhealthy"/>) while the project is not open yet (before the host started, or
    /// when opening failed) or when the store throws (the exception is in the result).
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="serviceKey">The project's service key; <see langword="null"/> for the project of <c>AddMLOps</c>.</param>
    /// <param name="name">The check's name (default <see cref="MetadataStoreCheckName"/>, plus <c>-&lt;key&gt;</c> when keyed).</param>
    /// <param name="failureStatus">The status reported on failure (default <see cref="HealthStatus.Unhealthy"/>).</param>
    /// <param name="tags">Tags to filter checks by endpoint (e.g. <c>ready</c>).</param>
    /// <param name="timeout">How long the check may take (default: no timeout of its own).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ValidationException"><paramref name="name"/> is empty or whitespace.</exception>
    public static IHealthChecksBuilder AddMLOpsMetadataStore(this IHealthChecksBuilder builder, string? serviceKey = null, string? name = null,
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null, TimeSpan? timeout = null)
    {
        Throw.IfNull(builder);
        name ??= serviceKey is null ? MetadataStoreCheckName : $"{MetadataStoreCheckName}-{serviceKey}";
        Throw.IfNullOrWhitespace(name);
        return builder.Add(new HealthCheckRegistration(name,
            sp => new MetadataStoreHealthCheck(serviceKey is null
                ? sp.GetRequiredService<MLOpsProjectProvider>()
                : sp.GetRequiredKeyedService<MLOpsProjectProvider>(serviceKey)),
            failureStatus, tags, timeout));
    }

    private sealed class MetadataStoreHealthCheck(MLOpsProjectProvider provider) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var failure = context.Registration.FailureStatus;
            if (!provider.IsOpen)
                return new HealthCheckResult(failure, "The MLOps project is not open yet: the host has not started, or opening it failed.");
            var project = provider.Project;
            var data = new Dictionary<string, object> { ["project"] = project.Name, ["store"] = project.Store.GetType().Name };
            try
            {
                var record = await project.Store.Projects.GetAsync(project.Name, cancellationToken).ConfigureAwait(false);
                return record is null
                    ? new HealthCheckResult(failure, $"The metadata store answers but has no record of project '{project.Name}' (it was deleted); open the project again.", data: data)
                    : HealthCheckResult.Healthy($"The metadata store of project '{project.Name}' answers.", data);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // any failure of the store is the check's answer
            catch (Exception e)
#pragma warning restore CA1031
            {
                return new HealthCheckResult(failure, $"The metadata store of project '{project.Name}' failed: {e.Message}", e, data);
            }
        }
    }
}
