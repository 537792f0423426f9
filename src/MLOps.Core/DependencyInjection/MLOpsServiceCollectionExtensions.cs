using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace MLOps.DependencyInjection;

/// <summary>What <c>services.AddMLOps(...)</c> returns; satellite packages extend it (<c>.AddFeatureStore()</c>, <c>.AddServing()</c>).</summary>
public interface IMLOpsBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }
}

/// <summary>Registers an <see cref="MLOpsProject"/> in a service collection.</summary>
public static class MLOpsServiceCollectionExtensions
{
    /// <summary>Registers a singleton <see cref="MLOpsProject"/> configured with the fluent builder and opened on first use:
    /// <c>services.AddMLOps(o =&gt; o.Project("flights").UseSqlite("mlops.db"))</c>. The container's
    /// <see cref="ILoggerFactory"/> and <see cref="TimeProvider"/> are used unless the builder sets its own. The catalogs
    /// (<see cref="RunCatalog"/>, <see cref="ArtifactCatalog"/>, <see cref="ModelRegistry"/>) are registered too.
    /// Idempotent: a second call does not replace the first registration.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the builder; it must name the project with <see cref="MLOpsProjectBuilder.Project"/>.</param>
    /// <returns>A builder for satellite packages.</returns>
    public static IMLOpsBuilder AddMLOps(this IServiceCollection services, Action<MLOpsProjectBuilder> configure)
    {
        Throw.IfNull(services);
        Throw.IfNull(configure);
        services.TryAddSingleton(sp =>
        {
            var builder = new MLOpsProjectBuilder("");
            if (sp.GetService<ILoggerFactory>() is { } loggerFactory) builder.UseLoggerFactory(loggerFactory);
            if (sp.GetService<TimeProvider>() is { } time) builder.UseTimeProvider(time);
            if (sp.GetService<System.Diagnostics.Metrics.IMeterFactory>() is { } meters) builder.UseMeterFactory(meters);
            configure(builder);
            return builder.Options;
        });
        services.TryAddSingleton(sp => MLOpsProject.OpenAsync(sp.GetRequiredService<MLOpsOptions>()).GetAwaiter().GetResult());
        services.TryAddSingleton(sp => sp.GetRequiredService<MLOpsProject>().Runs);
        services.TryAddSingleton(sp => sp.GetRequiredService<MLOpsProject>().Artifacts);
        services.TryAddSingleton(sp => sp.GetRequiredService<MLOpsProject>().Models);
        return new MLOpsBuilder(services);
    }

    /// <summary>Registers a singleton <see cref="MLOpsProject"/> named <paramref name="projectName"/>
    /// (<c>services.AddMLOps("flights", b =&gt; b.UseSqlite("mlops.db"))</c>); see <see cref="AddMLOps(IServiceCollection, Action{MLOpsProjectBuilder})"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="projectName">The project name.</param>
    /// <param name="configure">Configures the builder (optional).</param>
    /// <returns>A builder for satellite packages.</returns>
    public static IMLOpsBuilder AddMLOps(this IServiceCollection services, string projectName, Action<MLOpsProjectBuilder>? configure = null)
        => services.AddMLOps(b =>
        {
            b.Project(projectName);
            configure?.Invoke(b);
        });

    private sealed class MLOpsBuilder(IServiceCollection services) : IMLOpsBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
