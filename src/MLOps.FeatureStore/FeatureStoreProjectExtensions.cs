namespace MLOps.FeatureStore;

/// <summary>Adds <c>project.FeatureStore</c> to <see cref="MLOpsProject"/>.</summary>
public static class FeatureStoreProjectExtensions
{
    extension(MLOpsProject project)
    {
        /// <summary>The project's feature store (created with default options on first use).</summary>
        public FeatureStoreCatalog FeatureStore => project.GetOrAddExtension(p => new FeatureStoreCatalog(p, new FeatureStoreOptions()));

        /// <summary>Creates the project's feature store with options; call it before the first use of <c>project.FeatureStore</c>.</summary>
        /// <param name="options">The options.</param>
        /// <returns>The feature store.</returns>
        /// <exception cref="InvalidStateException">The feature store was already created with other options.</exception>
        public FeatureStoreCatalog UseFeatureStore(FeatureStoreOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var catalog = project.GetOrAddExtension(p => new FeatureStoreCatalog(p, options));
            if (!ReferenceEquals(catalog.Options, options) && catalog.Options != options)
                throw new InvalidStateException("The project's feature store was already created with other options. Call UseFeatureStore(options) before the first use of project.FeatureStore.");
            return catalog;
        }
    }
}
