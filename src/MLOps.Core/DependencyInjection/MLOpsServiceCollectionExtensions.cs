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
    /// <summary>Registers a singleton <see cref="MLOpsProject"/> opened from the options on first use
    /// (<c>services.AddMLOps(o => o.ProjectName = "flights")</c>). The logger factory and <see cref="TimeProvider"/> of the
    /// container are used unless the options set their own. Idempotent: a second call does not replace the first.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Fills the options (the project name at least).</param>
    /// <returns>A builder for satellite packages.</returns>
    public static IMLOpsBuilder AddMLOps(this IServiceCollection services, Action<MLOpsOptions> configure)
    {
        Throw.IfNull(services);
        Throw.IfNull(configure);
        services.TryAddSingleton(sp =>
        {
            var options = new MLOpsOptions();
            if (sp.GetService<ILoggerFactory>() is { } loggerFactory) options.LoggerFactory = loggerFactory;
            if (sp.GetService<TimeProvider>() is { } time) options.TimeProvider = time;
            configure(options);
            return options;
        });
        services.TryAddSingleton(sp => MLOpsProject.OpenAsync(sp.GetRequiredService<MLOpsOptions>()).GetAwaiter().GetResult());
        services.TryAddSingleton(sp => sp.GetRequiredService<MLOpsProject>().Runs);
        services.TryAddSingleton(sp => sp.GetRequiredService<MLOpsProject>().Artifacts);
        services.TryAddSingleton(sp => sp.GetRequiredService<MLOpsProject>().Models);
        return new MLOpsBuilder(services);
    }

    /// <summary>Registers a singleton <see cref="MLOpsProject"/> configured with the fluent builder
    /// (<c>services.AddMLOps("flights", b =&gt; b.UseSqlite("mlops.db"))</c>).</summary>
    /// <param name="services">The services.</param>
    /// <param name="projectName">The project name.</param>
    /// <param name="configure">Configures the builder (optional).</param>
    /// <returns>A builder for satellite packages.</returns>
    public static IMLOpsBuilder AddMLOps(this IServiceCollection services, string projectName, Action<MLOpsProjectBuilder>? configure = null)
        => services.AddMLOps(o =>
        {
            var builder = MLOpsProject.Configure(projectName);
            builder.Options.LoggerFactory = o.LoggerFactory;
            builder.Options.TimeProvider = o.TimeProvider;
            configure?.Invoke(builder);
            Copy(builder.Options, o);
        });

    private static void Copy(MLOpsOptions from, MLOpsOptions to)
    {
        to.ProjectName = from.ProjectName;
        to.Description = from.Description;
        to.Home = from.Home;
        to.SqlitePath = from.SqlitePath;
        to.Sqlite = from.Sqlite;
        to.MetadataStore = from.MetadataStore;
        to.ArtifactRoot = from.ArtifactRoot;
        to.TimeProvider = from.TimeProvider;
        to.LoggerFactory = from.LoggerFactory;
        to.CaptureGit = from.CaptureGit;
        to.GitDirectory = from.GitDirectory;
        to.Metrics = from.Metrics;
        foreach (var (k, v) in from.Parameters) to.Parameters[k] = v;
        foreach (var (k, v) in from.Labels) to.Labels[k] = v;
    }

    private sealed class MLOpsBuilder(IServiceCollection services) : IMLOpsBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
