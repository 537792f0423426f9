using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MLOps;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>What <c>services.AddMLOps(...)</c> returns; satellite packages chain on it (<c>.AddFeatureStore()</c>,
/// <c>.AddServing(...)</c>) and register their per-project services with <see cref="MLOpsBuilderExtensions.TryAddProjectSingleton{TService}"/>,
/// so they follow the project's <see cref="ServiceKey"/>.</summary>
public interface IMLOpsBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }

    /// <summary>The service key of the project (<c>AddKeyedMLOps</c>), or <see langword="null"/> for the unkeyed project of <c>AddMLOps</c>.</summary>
    string? ServiceKey { get; }
}

/// <summary>Registers an <see cref="MLOpsProject"/> in a service collection (see docs/hosting.md).</summary>
/// <remarks>
/// <para>What is registered (keyed with the service key for <c>AddKeyedMLOps</c>): <see cref="MLOpsOptions"/> as named
/// options (the name is the service key; <see cref="Options.Options.DefaultName"/> when unkeyed) validated at host start
/// (<c>ValidateOnStart</c>: every problem of <see cref="MLOpsOptions.Validate"/> in one <see cref="OptionsValidationException"/>),
/// an <see cref="MLOpsProjectProvider"/> that opens the project asynchronously once, an <see cref="IHostedService"/> that
/// opens it when the host starts, and <see cref="MLOpsProject"/>, <see cref="RunCatalog"/>, <see cref="ArtifactCatalog"/>
/// and <see cref="ModelRegistry"/> singletons that are the open project's.</para>
/// <para>Resolved before the project is open (before the host started, or in a container without a host before
/// <c>await provider.GetRequiredService&lt;MLOpsProjectProvider&gt;().GetProjectAsync()</c>), the project and its catalogs
/// throw <see cref="InvalidStateException"/>; nothing blocks on the opening.</para>
/// <para>The options are filled in this order: the container's <see cref="ILoggerFactory"/>, <see cref="TimeProvider"/> and
/// <see cref="IMeterFactory"/>, then the configuration section, then the <c>configure</c> callback.</para>
/// <para>Idempotent per key: a second call with the same key registers nothing and returns a builder for the first.</para>
/// </remarks>
public static class MLOpsServiceCollectionExtensions
{
    /// <summary>Registers the project configured with the fluent builder:
    /// <c>services.AddMLOps(o =&gt; o.Project("flights").UseSqlite("mlops.db"))</c>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the builder; it must name the project with <see cref="MLOpsProjectBuilder.Project"/>.</param>
    /// <returns>A builder for satellite packages.</returns>
    public static IMLOpsBuilder AddMLOps(this IServiceCollection services, Action<MLOpsProjectBuilder> configure)
        => Add(services, null, null, Throw.IfNull(configure));

    /// <summary>Registers the project named <paramref name="projectName"/>: <c>services.AddMLOps("flights", b =&gt; b.UseSqlite("mlops.db"))</c>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="projectName">The project name.</param>
    /// <param name="configure">Configures the builder (optional).</param>
    /// <returns>A builder for satellite packages.</returns>
    public static IMLOpsBuilder AddMLOps(this IServiceCollection services, string projectName, Action<MLOpsProjectBuilder>? configure = null)
        => Add(services, null, null, Named(projectName, configure));

    /// <summary>Registers the project bound from configuration: <c>services.AddMLOps(configuration.GetSection("MLOps"))</c>,
    /// with keys <c>ProjectName</c>, <c>Home</c>, <c>SqlitePath</c>, <c>ArtifactRoot</c>, <c>CaptureGit</c>,
    /// <c>Sqlite:BusyTimeout</c>, <c>Metrics:FlushSize</c>, <c>Parameters:&lt;key&gt;</c>, ... (the <see cref="MLOpsOptions"/> properties).</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The configuration section.</param>
    /// <param name="configure">Configures the builder after binding (optional; what it sets wins).</param>
    /// <returns>A builder for satellite packages.</returns>
    public static IMLOpsBuilder AddMLOps(this IServiceCollection services, IConfiguration configuration, Action<MLOpsProjectBuilder>? configure = null)
        => Add(services, null, Throw.IfNull(configuration), configure);

    /// <summary>Registers one of several projects of a container under a service key:
    /// <c>services.AddKeyedMLOps("training", b =&gt; b.Project("flights").UseHome("/data/a"))</c>; resolve it with
    /// <c>GetRequiredKeyedService&lt;MLOpsProject&gt;("training")</c> or <c>[FromKeyedServices("training")]</c>.
    /// <c>.AddFeatureStore()</c> and <c>.AddServing(...)</c> on the returned builder register under the same key.</summary>
    /// <param name="services">The services.</param>
    /// <param name="serviceKey">The service key, also the name of its <see cref="MLOpsOptions"/> (<c>IOptionsMonitor&lt;MLOpsOptions&gt;.Get(key)</c>).</param>
    /// <param name="configure">Configures the builder; it must name the project.</param>
    /// <returns>A builder for satellite packages.</returns>
    public static IMLOpsBuilder AddKeyedMLOps(this IServiceCollection services, string serviceKey, Action<MLOpsProjectBuilder> configure)
        => Add(services, Key(serviceKey), null, Throw.IfNull(configure));

    /// <summary>Registers one of several projects under a service key, bound from configuration:
    /// <c>services.AddKeyedMLOps("training", configuration.GetSection("MLOps:Training"))</c>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="serviceKey">The service key and options name.</param>
    /// <param name="configuration">The configuration section.</param>
    /// <param name="configure">Configures the builder after binding (optional).</param>
    /// <returns>A builder for satellite packages.</returns>
    public static IMLOpsBuilder AddKeyedMLOps(this IServiceCollection services, string serviceKey, IConfiguration configuration, Action<MLOpsProjectBuilder>? configure = null)
        => Add(services, Key(serviceKey), Throw.IfNull(configuration), configure);

    private static string Key(string serviceKey) => Names.Required(serviceKey, "service key", "Pass a key such as 'training'.");

    private static Action<MLOpsProjectBuilder> Named(string projectName, Action<MLOpsProjectBuilder>? configure)
    {
        Throw.IfNull(projectName);
        return b =>
        {
            b.Project(projectName);
            configure?.Invoke(b);
        };
    }

    private static MLOpsBuilder Add(IServiceCollection services, string? key, IConfiguration? configuration, Action<MLOpsProjectBuilder>? configure)
    {
        Throw.IfNull(services);
        var builder = new MLOpsBuilder(services, key);
        if (services.Any(d => d.ServiceType == typeof(MLOpsProjectProvider) && Equals(d.ServiceKey, key)))
            return builder;

        var optionsName = key ?? Options.Options.DefaultName;
        var options = services.AddOptions<MLOpsOptions>(optionsName);
        options.Configure<IServiceProvider>((o, sp) =>
        {
            if (sp.GetService<ILoggerFactory>() is { } loggerFactory) o.LoggerFactory = loggerFactory;
            if (sp.GetService<TimeProvider>() is { } time) o.TimeProvider = time;
            if (sp.GetService<IMeterFactory>() is { } meters) o.MeterFactory = meters;
        });
        if (configuration is not null) options.Bind(configuration);
        if (configure is not null) options.Configure(o => configure(new MLOpsProjectBuilder(o)));
        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<MLOpsOptions>>(new MLOpsOptionsValidator(optionsName, (configuration as IConfigurationSection)?.Path));

        if (key is null)
        {
            services.AddSingleton(sp => new MLOpsProjectProvider(null, () => sp.GetRequiredService<IOptionsMonitor<MLOpsOptions>>().Get(optionsName)));
            services.AddSingleton<IHostedService>(sp => new MLOpsProjectOpener(sp.GetRequiredService<MLOpsProjectProvider>()));
            services.TryAddSingleton(sp => sp.GetRequiredService<MLOpsProjectProvider>().Project);
        }
        else
        {
            services.AddKeyedSingleton(key, (sp, _) => new MLOpsProjectProvider(key, () => sp.GetRequiredService<IOptionsMonitor<MLOpsOptions>>().Get(optionsName)));
            services.AddSingleton<IHostedService>(sp => new MLOpsProjectOpener(sp.GetRequiredKeyedService<MLOpsProjectProvider>(key)));
            services.TryAddKeyedSingleton(key, (sp, k) => sp.GetRequiredKeyedService<MLOpsProjectProvider>(k).Project);
        }
        builder.TryAddProjectSingleton((_, p) => p.Runs);
        builder.TryAddProjectSingleton((_, p) => p.Artifacts);
        builder.TryAddProjectSingleton((_, p) => p.Models);
        return builder;
    }

    private sealed class MLOpsBuilder(IServiceCollection services, string? serviceKey) : IMLOpsBuilder
    {
        public IServiceCollection Services { get; } = services;

        public string? ServiceKey { get; } = serviceKey;
    }

    /// <summary>Opens the project when the host starts (after the options were validated).</summary>
    private sealed class MLOpsProjectOpener(MLOpsProjectProvider provider) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => provider.GetProjectAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Reports every problem of <see cref="MLOpsOptions.Validate"/>, with the configuration keys under the bound section.</summary>
    private sealed class MLOpsOptionsValidator(string name, string? sectionPath) : IValidateOptions<MLOpsOptions>
    {
        public ValidateOptionsResult Validate(string? name1, MLOpsOptions options)
        {
            if (!string.Equals(name1 ?? Options.Options.DefaultName, name, StringComparison.Ordinal)) return ValidateOptionsResult.Skip;
            var errors = options.Validate();
            if (errors.Count == 0) return ValidateOptionsResult.Success;
            var prefix = string.IsNullOrEmpty(sectionPath) ? "" : sectionPath + ":";
            var project = name.Length == 0 ? "" : $" (service key '{name}')";
            return ValidateOptionsResult.Fail(errors.Select(e => $"MLOps options{project}: {prefix}{e}"));
        }
    }
}

/// <summary>Lets satellite packages and third parties register per-project services on an <see cref="IMLOpsBuilder"/>.</summary>
public static class MLOpsBuilderExtensions
{
    /// <summary>Registers a singleton made from the builder's open project, keyed with the builder's
    /// <see cref="IMLOpsBuilder.ServiceKey"/> when it has one (so <c>AddKeyedMLOps("a").AddFeatureStore()</c> registers
    /// the feature store of project "a" under key "a"). Like the project, it throws <see cref="InvalidStateException"/>
    /// when resolved before the project is open. Idempotent: the first registration of a type (and key) wins.</summary>
    /// <typeparam name="TService">The service type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the service from the container and the open project.</param>
    /// <returns>The builder.</returns>
    public static IMLOpsBuilder TryAddProjectSingleton<TService>(this IMLOpsBuilder builder, Func<IServiceProvider, MLOpsProject, TService> factory)
        where TService : class
    {
        Throw.IfNull(builder);
        Throw.IfNull(factory);
        var key = builder.ServiceKey;
        if (key is null)
            builder.Services.TryAddSingleton(sp => factory(sp, sp.GetRequiredService<MLOpsProjectProvider>().Project));
        else
            builder.Services.TryAddKeyedSingleton(key, (sp, k) => factory(sp, sp.GetRequiredKeyedService<MLOpsProjectProvider>(k).Project));
        return builder;
    }

    /// <summary>The <see cref="MLOpsProjectProvider"/> of the builder's project (keyed or not) in a built container.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="services">The built container.</param>
    /// <returns>The provider.</returns>
    public static MLOpsProjectProvider GetProjectProvider(this IMLOpsBuilder builder, IServiceProvider services)
    {
        Throw.IfNull(builder);
        Throw.IfNull(services);
        return builder.ServiceKey is null
            ? services.GetRequiredService<MLOpsProjectProvider>()
            : services.GetRequiredKeyedService<MLOpsProjectProvider>(builder.ServiceKey);
    }
}
