using Microsoft.Extensions.Hosting;
using MLOps.Monitoring;
using MLOps.Monitoring.Capture;
using MLOps.Serving.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the project's monitoring: <c>services.AddMLOps(...).AddServing(graph, models).AddMonitoring().AddMonitoringCapture()</c>.</summary>
public static class MonitoringServiceCollectionExtensions
{
    /// <summary>Registers the project's <see cref="MonitoringCatalog"/> (<c>project.Monitoring</c>, or <c>project.UseMonitoring(options)</c>
    /// when options are given) as a singleton of the builder's key. Idempotent.</summary>
    /// <param name="builder">The builder returned by <c>AddMLOps</c> or <c>AddKeyedMLOps</c>.</param>
    /// <param name="options">The monitoring options; defaults when null.</param>
    /// <returns>The builder.</returns>
    public static IMLOpsBuilder AddMonitoring(this IMLOpsBuilder builder, MonitoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.TryAddProjectSingleton((_, project) => options is null ? project.Monitoring : project.UseMonitoring(options));
    }

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
