using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOps.FeatureStore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the feature store's health checks: <c>services.AddHealthChecks().AddFeatureStoreOnlineStore()</c>.</summary>
public static class FeatureStoreHealthChecksBuilderExtensions
{
    /// <summary>The default name of the online store check (suffixed with <c>-&lt;service key&gt;</c> for a keyed project).</summary>
    public const string OnlineStoreCheckName = "mlops-feature-store-online";

    /// <summary>
    /// Adds a <see cref="FeatureStoreOnlineHealthCheck"/> of the container's <see cref="FeatureStoreCatalog"/> (registered
    /// with <c>services.AddMLOps(...).AddFeatureStore()</c>, or <c>services.AddKeyedMLOps(serviceKey, ...).AddFeatureStore()</c>
    /// for a keyed project): it writes and reads back a probe row of the online store.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="serviceKey">The project's service key; <see langword="null"/> for the feature store of <c>AddMLOps</c>.</param>
    /// <param name="name">The check's name (default <see cref="OnlineStoreCheckName"/>, plus <c>-&lt;key&gt;</c> when keyed).</param>
    /// <param name="failureStatus">The status reported on failure (default <see cref="HealthStatus.Unhealthy"/>).</param>
    /// <param name="tags">Tags to filter checks by (for example <c>ready</c>).</param>
    /// <param name="timeout">A timeout of the check (default none).</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddFeatureStoreOnlineStore(this IHealthChecksBuilder builder, string? serviceKey = null, string? name = null,
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        name ??= serviceKey is null ? OnlineStoreCheckName : $"{OnlineStoreCheckName}-{serviceKey}";
        Throw.IfNullOrWhitespace(name);
        return builder.Add(new HealthCheckRegistration(name,
            sp => new FeatureStoreOnlineHealthCheck(serviceKey is null
                ? sp.GetRequiredService<FeatureStoreCatalog>()
                : sp.GetRequiredKeyedService<FeatureStoreCatalog>(serviceKey)),
            failureStatus, tags, timeout));
    }
}
