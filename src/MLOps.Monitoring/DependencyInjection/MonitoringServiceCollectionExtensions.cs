using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using MLOps.Monitoring;
using MLOps.Monitoring.Analysis;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;
using MLOps.Serving.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the project's monitoring: <c>services.AddMLOps(...).AddServing(graph, models).AddMonitoring().AddMonitoringCapture()</c>.</summary>
public static class MonitoringServiceCollectionExtensions
{
    /// <summary>Registers the project's <see cref="MonitoringCatalog"/> (<c>project.Monitoring</c>, or <c>project.UseMonitoring(options)</c>
    /// when options are given) as a singleton of the builder's key, with the applications of <see cref="AddMonitoringApplication{T}"/>,
    /// and the scheduled analysis (<see cref="MonitoringAnalysisService"/>) unless <see cref="MonitoringOptions.ScheduledAnalysis"/>
    /// is false. Idempotent: the first call (per key) wins.</summary>
    /// <param name="builder">The builder returned by <c>AddMLOps</c> or <c>AddKeyedMLOps</c>.</param>
    /// <param name="options">The monitoring options; defaults when null.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="MLOps.ValidationException">An option is out of range.</exception>
    public static IMLOpsBuilder AddMonitoring(this IMLOpsBuilder builder, MonitoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        options?.Validate();
        var key = builder.ServiceKey;
        if (builder.Services.Any(d => d.ServiceType == typeof(MonitoringMarker) && Equals(d.ServiceKey, key))) return builder;
        builder.Services.AddKeyedSingleton(key, new MonitoringMarker());
        builder.TryAddProjectSingleton((services, project) =>
        {
            var catalog = options is null ? project.Monitoring : project.UseMonitoring(options);
            foreach (var registration in services.GetServices<ApplicationRegistration>().Where(r => r.Key == key))
                catalog.Applications.Set(registration.Create(services), registration.Endpoints, null);
            return catalog;
        });
        if (options?.ScheduledAnalysis ?? true)
            builder.Services.AddSingleton<IHostedService>(sp => new MonitoringAnalysisService(async cancellationToken =>
            {
                await builder.GetProjectProvider(sp).GetProjectAsync(cancellationToken).ConfigureAwait(false);
                return key is null ? sp.GetRequiredService<MonitoringCatalog>() : sp.GetRequiredKeyedService<MonitoringCatalog>(key);
            }));
        return builder;
    }

    /// <summary>Registers a monitoring application of type <typeparamref name="T"/> (created by the container, a singleton) in the
    /// project's <see cref="MonitoringCatalog.Applications"/>, replacing one of the same name (a built-in one too); also registers
    /// the catalog with default options when <see cref="AddMonitoring"/> was not called before.</summary>
    /// <typeparam name="T">The application's type.</typeparam>
    /// <param name="builder">The builder returned by <c>AddMLOps</c> or <c>AddKeyedMLOps</c>.</param>
    /// <param name="endpoints">The endpoints it runs for (ids, names or model names); <see langword="null"/> for every endpoint.</param>
    /// <returns>The builder.</returns>
    public static IMLOpsBuilder AddMonitoringApplication<T>(this IMLOpsBuilder builder, IEnumerable<string>? endpoints = null)
        where T : class, IMonitoringApplication
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddMonitoring();
        builder.Services.TryAddSingleton<T>();
        builder.Services.AddSingleton(new ApplicationRegistration(builder.ServiceKey, sp => sp.GetRequiredService<T>(), endpoints?.ToList()));
        return builder;
    }

    /// <summary>Marks that <see cref="AddMonitoring"/> ran for a key.</summary>
    private sealed class MonitoringMarker;

    /// <summary>An application registered with <see cref="AddMonitoringApplication{T}"/>.</summary>
    private sealed record ApplicationRegistration(string? Key, Func<IServiceProvider, IMonitoringApplication> Create, IReadOnlyList<string>? Endpoints);

    /// <summary>
    /// Captures the requests of the builder's <see cref="InferenceServer"/> (registered with <c>AddServing</c> before this call, so
    /// that its models are loaded and their versions known): a hosted service starts a <see cref="CaptureSession"/> when the host
    /// starts and disposes it when the host stops, which writes what is buffered. Also registers the catalog with default options
    /// when <see cref="AddMonitoring"/> was not called before.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddMLOps</c> or <c>AddKeyedMLOps</c>.</param>
    /// <param name="options">The capture options; defaults when null.</param>
    /// <returns>The builder.</returns>
    public static IMLOpsBuilder AddMonitoringCapture(this IMLOpsBuilder builder, CaptureOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddMonitoring();
        var key = builder.ServiceKey;
        builder.Services.AddSingleton<IHostedService>(sp => new CaptureHostedService(builder.GetProjectProvider(sp), sp, key, options));
        return builder;
    }

    /// <summary>Starts a capture session when the host starts, disposes (flushes) it when the host stops.</summary>
    private sealed class CaptureHostedService(MLOps.MLOpsProjectProvider provider, IServiceProvider services, string? key, CaptureOptions? options) : IHostedService
    {
        private CaptureSession? _session;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await provider.GetProjectAsync(cancellationToken).ConfigureAwait(false);
            // the container's catalog (AddMonitoring(options)), resolved once the project is open
            var catalog = key is null ? services.GetRequiredService<MonitoringCatalog>() : services.GetRequiredKeyedService<MonitoringCatalog>(key);
            var server = key is null ? services.GetRequiredService<InferenceServer>() : services.GetRequiredKeyedService<InferenceServer>(key);
            _session = await catalog.StartCaptureAsync(server, options, cancellationToken).ConfigureAwait(false);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _session, null) is { } session)
                await session.DisposeAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
