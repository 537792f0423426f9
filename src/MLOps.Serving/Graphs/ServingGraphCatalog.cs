using System.Globalization;
using MLOps.Artifacts;
using MLOps.Internal;
using MLOps.Storage;

namespace MLOps.Serving.Graphs;

/// <summary>Adds <c>project.ServingGraphs</c>, the catalog of stored serving graphs.</summary>
public static class ServingGraphProjectExtensions
{
    extension(MLOpsProject project)
    {
        /// <summary>The project's stored serving graphs: versioned JSON specs in the metadata store.</summary>
        public ServingGraphCatalog ServingGraphs => project.GetOrAddExtension(p => new ServingGraphCatalog(p));
    }
}

/// <summary>
/// Stores serving graphs in the project's metadata store as versioned JSON (<see cref="ServingGraph.ToJson"/>) and
/// rebuilds them (<see cref="ServingGraph.FromJson"/>) with a <see cref="ServingStepRegistry"/>: a deployment names a graph
/// by <c>store://serving-graphs/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c> instead of shipping code. Saving an
/// unchanged graph keeps its version; a changed one becomes version <c>n + 1</c> and moves the <c>latest</c> tag.
/// </summary>
/// <remarks>Thread-safe. Only graphs whose steps are registered by kind (<see cref="ISerializableServingStep"/>) can be
/// stored; lambdas and routing rules are code.</remarks>
public sealed class ServingGraphCatalog
{
    /// <summary>The spec kind under which graphs are stored.</summary>
    public const string Kind = "serving-graph";

    private readonly MLOpsProject _project;

    internal ServingGraphCatalog(MLOpsProject project) => _project = project;

    /// <summary>Stores a graph as a new version, or returns the latest version when its JSON is unchanged.</summary>
    /// <param name="graph">The graph; every step must be registered by kind.</param>
    /// <param name="description">A description of this version, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored version.</returns>
    /// <exception cref="ValidationException">The graph's name is not a valid name, or some steps (lambdas, rules) cannot be
    /// written as JSON; every one is listed.</exception>
    public async Task<ServingGraphRecord> SaveAsync(ServingGraph graph, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Names.Name(graph.Name, "serving graph name");
        var json = graph.ToJson();
        var record = await _project.Store.Specs.SaveAsync(
            new NewSpec(_project.Name, Kind, graph.Name, json, description, new Dictionary<string, string>(), _project.TimeProvider.GetUtcNow()),
            cancellationToken).ConfigureAwait(false);
        return ToRecord(record);
    }

    /// <summary>Returns a stored version of a graph.</summary>
    /// <param name="nameOrUri">The graph name, or its store URI (<c>store://serving-graphs/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>;
    /// the URI's version or tag wins over <paramref name="versionOrTag"/>).</param>
    /// <param name="versionOrTag">A version number (<c>"2"</c>) or a tag (default <c>latest</c>).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored version with its JSON.</returns>
    /// <exception cref="NotFoundException">No such graph, version or tag; the message lists the stored graphs.</exception>
    /// <exception cref="ValidationException">The URI is not a serving-graph URI of this project.</exception>
    public async Task<ServingGraphRecord> GetAsync(string nameOrUri, string versionOrTag = "latest", CancellationToken cancellationToken = default)
    {
        var (name, reference) = Resolve(nameOrUri, versionOrTag);
        var record = await _project.Store.Specs.GetAsync(_project.Name, Kind, name, reference, cancellationToken).ConfigureAwait(false);
        if (record is not null)
            return ToRecord(record);
        var known = await _project.Store.Specs.ListAsync(_project.Name, Kind, cancellationToken).ConfigureAwait(false);
        throw new NotFoundException("serving graph", $"{name}:{reference}",
            $"The serving graph '{name}' (version or tag '{reference}') does not exist in project '{_project.Name}'. " +
            $"Stored graphs: {(known.Count == 0 ? "none; store one with project.ServingGraphs.SaveAsync(graph)" : string.Join(", ", known.Select(k => $"{k.Name} (v{k.Version})")))}.");
    }

    /// <summary>Rebuilds a stored graph, creating its steps with <paramref name="registry"/>.</summary>
    /// <param name="nameOrUri">The graph name or store URI.</param>
    /// <param name="registry">The registry holding every step kind of the graph.</param>
    /// <param name="versionOrTag">A version number or a tag (default <c>latest</c>).</param>
    /// <param name="onError">A graph-level error handler (handlers are code and are not stored).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The graph, not initialized (a server or the first event initializes it).</returns>
    /// <exception cref="NotFoundException">No such graph, version or tag.</exception>
    /// <exception cref="ValidationException">The stored JSON names step kinds the registry does not hold, or options a step rejects; every problem is listed.</exception>
    public async Task<ServingGraph> LoadAsync(string nameOrUri, ServingStepRegistry registry, string versionOrTag = "latest",
        ServingErrorHandler? onError = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var record = await GetAsync(nameOrUri, versionOrTag, cancellationToken).ConfigureAwait(false);
        return ServingGraph.FromJson(record.Json, registry, onError);
    }

    /// <summary>Lists the latest version of every stored graph, by name.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The graphs.</returns>
    public async Task<IReadOnlyList<ServingGraphRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var records = await _project.Store.Specs.ListAsync(_project.Name, Kind, cancellationToken).ConfigureAwait(false);
        return [.. records.Select(ToRecord)];
    }

    /// <summary>Lists every version of a stored graph, oldest first.</summary>
    /// <param name="name">The graph name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The versions; empty when the graph was never stored.</returns>
    public async Task<IReadOnlyList<ServingGraphRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(name);
        var records = await _project.Store.Specs.ListVersionsAsync(_project.Name, Kind, name, cancellationToken).ConfigureAwait(false);
        return [.. records.Select(ToRecord)];
    }

    /// <summary>Points a tag (such as <c>production</c>) at a stored version, moving it when it exists.</summary>
    /// <param name="name">The graph name.</param>
    /// <param name="version">The version.</param>
    /// <param name="tag">The tag: a name, not a number (a number would read as a version).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    /// <exception cref="NotFoundException">No such graph or version.</exception>
    /// <exception cref="ValidationException">The tag is not a valid name, or is a number.</exception>
    public async Task TagAsync(string name, int version, string tag, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(name);
        Names.SpecTag(tag);
        await _project.Store.Specs.SetTagAsync(_project.Name, Kind, name, tag, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes every version and tag of a stored graph.</summary>
    /// <param name="name">The graph name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(name);
        return _project.Store.Specs.DeleteAsync(_project.Name, Kind, name, cancellationToken);
    }

    private (string Name, string VersionOrTag) Resolve(string nameOrUri, string versionOrTag)
    {
        Throw.IfNullOrWhitespace(versionOrTag);
        return StoreUri.ResolveName(nameOrUri, versionOrTag, StoreUri.ServingGraphs, _project.Name);
    }

    private static ServingGraphRecord ToRecord(SpecRecord record) => new(
        record.Name,
        record.Version,
        new StoreUri(StoreUri.ServingGraphs, record.Project, record.Name, record.Version.ToString(CultureInfo.InvariantCulture)).ToString(),
        record.Body,
        record.Description,
        record.Created,
        record.Tags);
}

/// <summary>A stored version of a serving graph.</summary>
/// <param name="Name">The graph name.</param>
/// <param name="Version">The version, from 1.</param>
/// <param name="Uri">The version's store URI (<c>store://serving-graphs/&lt;project&gt;/&lt;name&gt;:&lt;version&gt;</c>).</param>
/// <param name="Json">The graph as written by <see cref="ServingGraph.ToJson"/>.</param>
/// <param name="Description">The description given when it was saved, or <see langword="null"/>.</param>
/// <param name="Created">When the version was stored.</param>
/// <param name="Tags">The tags pointing at this version (<c>latest</c>, <c>production</c>, ...).</param>
public sealed record ServingGraphRecord(string Name, int Version, string Uri, string Json, string? Description, DateTimeOffset Created, IReadOnlyList<string> Tags);
