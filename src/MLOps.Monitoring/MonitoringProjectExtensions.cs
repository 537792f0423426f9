namespace MLOps.Monitoring;

/// <summary>Adds <c>project.Monitoring</c> to <see cref="MLOpsProject"/>.</summary>
public static class MonitoringProjectExtensions
{
    extension(MLOpsProject project)
    {
        /// <summary>The project's monitoring: model endpoints, capture, recorded results (created with default options on first use).</summary>
        public MonitoringCatalog Monitoring => project.GetOrAddExtension(p => new MonitoringCatalog(p, new MonitoringOptions()));

        /// <summary>Creates the project's monitoring with options; call it before the first use of <c>project.Monitoring</c>.</summary>
        /// <param name="options">The options.</param>
        /// <returns>The monitoring catalog.</returns>
        /// <exception cref="InvalidStateException">Monitoring was already created with other options.</exception>
        public MonitoringCatalog UseMonitoring(MonitoringOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var catalog = project.GetOrAddExtension(p => new MonitoringCatalog(p, options));
            if (!ReferenceEquals(catalog.Options, options) && catalog.Options != options)
                throw new InvalidStateException("The project's monitoring was already created with other options. Call UseMonitoring(options) before the first use of project.Monitoring.");
            return catalog;
        }
    }
}
