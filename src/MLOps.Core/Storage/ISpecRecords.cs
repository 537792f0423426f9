namespace MLOps.Storage;

/// <summary>
/// Versioned specifications of named objects that other packages define: feature sets, feature vectors, serving graphs.
/// A spec is a JSON body stored under (project, kind, name); saving a different body adds a version and moves the
/// <c>latest</c> tag, saving the same body again returns the existing version. Each version also has a mutable status
/// (JSON: statistics, last ingestion, ...).
/// </summary>
/// <remarks>"The latest version" is the version the <c>latest</c> tag points at: the newest one unless the tag was moved
/// with <see cref="SetTagAsync"/> (a roll-back). New versions are always numbered after the highest existing one.
/// Sequences (<see cref="ClaimSequenceAsync"/>) are independent of specs; both are deleted with their project.</remarks>
public interface ISpecRecords
{
    /// <summary>
    /// Saves a spec: adds version <c>n + 1</c> when its body differs from the latest version's (or when there is none) and
    /// points the <c>latest</c> tag at it; otherwise returns the latest version unchanged.
    /// </summary>
    /// <param name="spec">The spec.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored version.</returns>
    Task<SpecRecord> SaveAsync(NewSpec spec, CancellationToken cancellationToken = default);

    /// <summary>Returns a version by number (<c>"3"</c>) or tag (<c>"latest"</c>), or <see langword="null"/>.</summary>
    /// <param name="project">The project.</param>
    /// <param name="kind">The kind, such as <c>feature-set</c>.</param>
    /// <param name="name">The name.</param>
    /// <param name="versionOrTag">A version number or a tag.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version or <see langword="null"/>.</returns>
    Task<SpecRecord?> GetAsync(string project, string kind, string name, string versionOrTag = "latest", CancellationToken cancellationToken = default);

    /// <summary>Lists the latest version of every spec of a kind, ordered by name.</summary>
    /// <param name="project">The project.</param>
    /// <param name="kind">The kind.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The specs.</returns>
    Task<IReadOnlyList<SpecRecord>> ListAsync(string project, string kind, CancellationToken cancellationToken = default);

    /// <summary>Lists every version of one spec, oldest first.</summary>
    /// <param name="project">The project.</param>
    /// <param name="kind">The kind.</param>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The versions (empty when the spec does not exist).</returns>
    Task<IReadOnlyList<SpecRecord>> ListVersionsAsync(string project, string kind, string name, CancellationToken cancellationToken = default);

    /// <summary>Points a tag at a version (moving it when it exists).</summary>
    /// <param name="project">The project.</param>
    /// <param name="kind">The kind.</param>
    /// <param name="name">The name.</param>
    /// <param name="tag">The tag.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    /// <exception cref="NotFoundException">The version does not exist.</exception>
    Task SetTagAsync(string project, string kind, string name, string tag, int version, CancellationToken cancellationToken = default);

    /// <summary>Replaces the status of a version.</summary>
    /// <param name="project">The project.</param>
    /// <param name="kind">The kind.</param>
    /// <param name="name">The name.</param>
    /// <param name="version">The version.</param>
    /// <param name="status">The new status (JSON).</param>
    /// <param name="now">The update time.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the status is stored.</returns>
    /// <exception cref="NotFoundException">The version does not exist.</exception>
    Task UpdateStatusAsync(string project, string kind, string name, int version, string status, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Deletes every version and tag of a spec.</summary>
    /// <param name="project">The project.</param>
    /// <param name="kind">The kind.</param>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    Task<bool> DeleteAsync(string project, string kind, string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the sequence number of <paramref name="token"/> within a scope: the number it was given before, or the next
    /// number (1, 2, ...) when it is new. Used to order ingestions and make retries idempotent.
    /// </summary>
    /// <param name="project">The project.</param>
    /// <param name="scope">The scope, such as <c>feature-set/flight_delays</c>.</param>
    /// <param name="token">The token, such as an ingestion id.</param>
    /// <param name="now">The claim time.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The sequence number.</returns>
    Task<long> ClaimSequenceAsync(string project, string scope, string token, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives back the claim of <paramref name="token"/> within a scope (see <see cref="ClaimSequenceAsync"/>), for an
    /// operation that failed before anything numbered by it was committed, so that the failure leaves no trace: the next
    /// claim gets the number again when it was the scope's greatest. Releasing a token that has no claim does nothing.
    /// </summary>
    /// <param name="project">The project.</param>
    /// <param name="scope">The scope.</param>
    /// <param name="token">The token.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Whether a claim was released.</returns>
    Task<bool> ReleaseSequenceAsync(string project, string scope, string token, CancellationToken cancellationToken = default);
}

/// <summary>A spec to save.</summary>
/// <param name="Project">The project.</param>
/// <param name="Kind">The kind, such as <c>feature-set</c>.</param>
/// <param name="Name">The name.</param>
/// <param name="Body">The spec as JSON.</param>
/// <param name="Description">A description.</param>
/// <param name="Labels">Labels.</param>
/// <param name="Created">The creation time.</param>
public sealed record NewSpec(string Project, string Kind, string Name, string Body, string? Description, IReadOnlyDictionary<string, string> Labels, DateTimeOffset Created);

/// <summary>A stored version of a spec.</summary>
public sealed record SpecRecord
{
    /// <summary>The project.</summary>
    public required string Project { get; init; }

    /// <summary>The kind.</summary>
    public required string Kind { get; init; }

    /// <summary>The name.</summary>
    public required string Name { get; init; }

    /// <summary>The version, from 1.</summary>
    public required int Version { get; init; }

    /// <summary>The spec as JSON.</summary>
    public required string Body { get; init; }

    /// <summary>The description.</summary>
    public string? Description { get; init; }

    /// <summary>The labels.</summary>
    public required IReadOnlyDictionary<string, string> Labels { get; init; }

    /// <summary>When the version was created.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>When its status last changed (the creation time before that).</summary>
    public required DateTimeOffset Updated { get; init; }

    /// <summary>The status (JSON), or <see langword="null"/> before the first update.</summary>
    public string? Status { get; init; }

    /// <summary>The tags pointing at this version, ordered.</summary>
    public required IReadOnlyList<string> Tags { get; init; }
}
