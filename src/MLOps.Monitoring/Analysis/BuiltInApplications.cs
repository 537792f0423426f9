using MLOps.Monitoring.Drift;
using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Analysis;

/// <summary>The built-in monitoring applications every project starts with (users can remove or replace them by name, and add
/// their own alike). Adding a built-in is one line here.</summary>
internal static class BuiltInApplications
{
    public static IEnumerable<IMonitoringApplication> Create(MonitoringCatalog catalog) =>
    [
        new OperationsApplication(catalog),
        new DriftApplication(catalog.Options.Drift),
    ];
}
