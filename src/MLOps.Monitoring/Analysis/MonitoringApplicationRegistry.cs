using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Endpoints;

namespace MLOps.Monitoring.Analysis;

/// <summary>
/// The monitoring applications of a project (<c>project.Monitoring.Applications</c>): the built-in ones (<c>operations</c>, ...)
/// and the user's, registered alike, for every endpoint or for some. Each analysed window runs every application of its endpoint.
/// </summary>
/// <remarks>Thread-safe. An application's <see cref="IMonitoringApplication.Name"/> is its key: lower-case letters, digits,
/// <c>_</c>, <c>-</c> and <c>.</c>, starting with a letter or digit, unique within the project; results are stored under it.</remarks>
public sealed class MonitoringApplicationRegistry
{
    private readonly Lock _lock = new();
    private readonly List<(IMonitoringApplication Application, HashSet<string>? Endpoints, TimeSpan? Timeout)> _applications = [];

    internal MonitoringApplicationRegistry(IEnumerable<IMonitoringApplication> builtIns)
    {
        foreach (var application in builtIns) Add(application);
    }

    /// <summary>The names of the registered applications, in registration order.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_lock) return [.. _applications.Select(a => a.Application.Name)];
        }
    }

    /// <summary>Registers an application for every endpoint of the project, or for some.</summary>
    /// <param name="application">The application.</param>
    /// <param name="endpoints">The endpoints it runs for, each given by id, name (<c>model:version</c>) or model name;
    /// <see langword="null"/> (default) for every endpoint.</param>
    /// <param name="timeout">How long it may take on one window; <see langword="null"/> (default) for
    /// <see cref="MonitoringOptions.ApplicationTimeout"/>.</param>
    /// <exception cref="ValidationException">The name is invalid, already registered (remove it first), an endpoint is blank, or the
    /// time-out is not positive.</exception>
    public void Add(IMonitoringApplication application, IEnumerable<string>? endpoints = null, TimeSpan? timeout = null)
    {
        var entry = Entry(application, endpoints, timeout);
        lock (_lock)
        {
            if (_applications.Any(a => a.Application.Name == application.Name))
                throw new ValidationException($"A monitoring application named '{application.Name}' is already registered ({string.Join(", ", _applications.Select(a => a.Application.Name))}); give yours another Name, or Remove(\"{application.Name}\") first to replace it.");
            _applications.Add(entry);
        }
    }

    /// <summary>Removes an application (a built-in one too).</summary>
    /// <param name="name">The application's name.</param>
    /// <returns>Whether it was registered.</returns>
    public bool Remove(string name)
    {
        lock (_lock) return _applications.RemoveAll(a => a.Application.Name == name) > 0;
    }

    /// <summary>Whether an application of this name is registered.</summary>
    /// <param name="name">The application's name.</param>
    /// <returns>Whether it is registered.</returns>
    public bool Contains(string name)
    {
        lock (_lock) return _applications.Exists(a => a.Application.Name == name);
    }

    /// <summary>The applications that run for an endpoint, in registration order.</summary>
    /// <param name="endpoint">The endpoint.</param>
    /// <returns>The applications.</returns>
    public IReadOnlyList<IMonitoringApplication> For(ModelEndpoint endpoint) => [.. Entries(endpoint).Select(e => e.Application)];

    /// <summary>The applications that run for an endpoint with their own time-outs (null for the default).</summary>
    internal IReadOnlyList<(IMonitoringApplication Application, TimeSpan? Timeout)> Entries(ModelEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        lock (_lock)
        {
            return [.. _applications
                .Where(a => a.Endpoints is null || a.Endpoints.Contains(endpoint.Id) || a.Endpoints.Contains(endpoint.Name) || a.Endpoints.Contains(endpoint.Model))
                .Select(a => (a.Application, a.Timeout))];
        }
    }

    /// <summary>Registers an application, replacing one of the same name (dependency injection).</summary>
    internal void Set(IMonitoringApplication application, IEnumerable<string>? endpoints, TimeSpan? timeout)
    {
        var entry = Entry(application, endpoints, timeout);
        lock (_lock)
        {
            var index = _applications.FindIndex(a => a.Application.Name == application.Name);
            if (index >= 0) _applications[index] = entry;
            else _applications.Add(entry);
        }
    }

    private static (IMonitoringApplication, HashSet<string>?, TimeSpan?) Entry(IMonitoringApplication application, IEnumerable<string>? endpoints, TimeSpan? timeout)
    {
        ArgumentNullException.ThrowIfNull(application);
        ValidateName(application.Name, application.GetType().Name);
        if (timeout <= TimeSpan.Zero)
            throw new ValidationException($"The time-out of monitoring application '{application.Name}' is {timeout}; pass a positive time (e.g. 00:01:00) or null for MonitoringOptions.ApplicationTimeout.");
        HashSet<string>? set = null;
        if (endpoints is not null)
        {
            set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var endpoint in endpoints)
            {
                if (string.IsNullOrWhiteSpace(endpoint))
                    throw new ValidationException($"An endpoint of monitoring application '{application.Name}' is {Internal.Names.Describe(endpoint)}; pass endpoint ids, names ('delay:1') or model names ('delay'), or null for every endpoint.");
                set.Add(endpoint);
            }
        }
        return (application, set, timeout);
    }

    /// <summary>Checks an application name: it names folders of the result store.</summary>
    internal static void ValidateName(string? name, string type)
    {
        var valid = !string.IsNullOrEmpty(name) && name.Length <= 128 && char.IsAsciiLetterLower(name[0]) | char.IsAsciiDigit(name[0])
            && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '-' or '.');
        if (!valid)
            throw new ValidationException($"The Name of monitoring application {type} is {(name is null ? "missing (null)" : $"'{name}'")}; use 1-128 lower-case letters, digits, '_', '-' and '.', starting with a letter or digit, e.g. 'latency_check'.");
    }
}
