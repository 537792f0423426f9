using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MLOps.FeatureStore;

namespace MLOps.DependencyInjection;

/// <summary>Registers the feature store with <c>services.AddMLOps(...).AddFeatureStore()</c>.</summary>
public static class FeatureStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the project's <see cref="FeatureStore.FeatureStoreCatalog"/> as a singleton (the same object as
    /// <c>project.FeatureStore</c>), optionally with options (another online store, another offline root). Idempotent.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddMLOps</c>.</param>
    /// <param name="options">The feature store options (default: SQLite online store in the project home).</param>
    /// <returns>The builder.</returns>
    public static IMLOpsBuilder AddFeatureStore(this IMLOpsBuilder builder, FeatureStore.FeatureStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(sp =>
        {
            var project = sp.GetRequiredService<MLOpsProject>();
            return options is null ? project.FeatureStore : project.UseFeatureStore(options);
        });
        return builder;
    }
}
