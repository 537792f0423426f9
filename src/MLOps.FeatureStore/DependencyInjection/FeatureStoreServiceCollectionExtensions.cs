using MLOps.FeatureStore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the feature store with <c>services.AddMLOps(...).AddFeatureStore()</c>.</summary>
public static class FeatureStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the project's <see cref="FeatureStoreCatalog"/> as a singleton (the same object as
    /// <c>project.FeatureStore</c>), optionally with options (another online store, another offline root). On a keyed
    /// builder (<c>AddKeyedMLOps("a", ...)</c>) it is registered under the same key. Like the project, it can be resolved
    /// once the project is open (after the host started). Idempotent.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddMLOps</c>.</param>
    /// <param name="options">The feature store options (default: SQLite online store in the project home).</param>
    /// <returns>The builder.</returns>
    public static IMLOpsBuilder AddFeatureStore(this IMLOpsBuilder builder, FeatureStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.TryAddProjectSingleton((_, project) => options is null ? project.FeatureStore : project.UseFeatureStore(options));
    }
}
