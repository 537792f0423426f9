using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOps.FeatureStore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the feature store's health checks: <c>services.AddHealthChecks().AddFeatureStoreOnlineStore()</c>.</summary>
public static class FeatureStoreHealthChecksBuilderExtensions
{
    /// <summary>The default name of the online store check.</summary>
    public const string OnlineStoreCheckName = "mlops-feature-store-online";

    /// <summary>
    /// Adds a <see cref="FeatureStoreOnlineHealthCheck"/> of the container's <see cref="FeatureStoreCatalog"/> (registered
    /// with <c>services.AddMLOps(...).AddFeatureStore()</c>): it writes and reads back a probe row of the online store.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name (default <c>mlops-feature-store-online</c>).</param>
    /// <param name="failureStatus">The status reported on failure (default <see cref="HealthStatus.Unhealthy"/>).</param>
    /// <param name="tags">Tags to filter checks by (for example <c>ready</c>).</param>
    /// <param name="timeout">A timeout of the check (default none).</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddFeatureStoreOnlineStore(this IHealthChecksBuilder builder, string name = OnlineStoreCheckName,
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Throw.IfNullOrWhitespace(name);
        return builder.Add(new HealthCheckRegistration(name,
            sp => new FeatureStoreOnlineHealthCheck(sp.GetRequiredService<FeatureStoreCatalog>()),
            failureStatus, tags, timeout));
    }
}
