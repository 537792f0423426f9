using System.Text.Json.Nodes;
using MLOps.Artifacts;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore.FeatureSets;

/// <summary>
/// The feature store's records in the metadata store: feature-set and feature-vector specs (versions, tags) and the
/// status of feature-set versions (completed ingestions, statistics).
/// </summary>
internal sealed class CatalogRecords(FeatureStoreContext context)
{
    internal const string VectorKind = "feature-vector";

    private const int CompletedKept = 100;

    private MLOpsProject Project => context.Project;

    private ISpecRecords Specs => context.Project.Store.Specs;

    /// <summary>Saves a set: a new version when its definition changed, else the stored version.</summary>
    public async Task<FeatureSet> SaveAsync(FeatureSet set, CancellationToken cancellationToken)
    {
        var stored = await FindAsync(set.Name, "latest", cancellationToken, withSteps: false).ConfigureAwait(false);
        if (stored is not null) FeatureSetSpec.CheckKeys(stored, set);
        var schema = set.Schema ?? stored?.Schema;
        if (stored?.Schema is { } storedSchema)
            schema = FeatureSetSpec.Merge(set.Name, storedSchema, set.Schema ?? set.DeclaredFeatures).Schema;
        var fitted = set.Fitted.Count > 0 ? set.Fitted : stored?.Fitted ?? new Dictionary<string, string>();
        return await StoreAsync(set.WithSchema(schema!, fitted, null), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores a set's spec as given (the metadata store keeps the version when nothing changed).</summary>
    public async Task<FeatureSet> StoreAsync(FeatureSet set, CancellationToken cancellationToken)
    {
        var record = await Specs.SaveAsync(
            new NewSpec(Project.Name, FeatureSetSpec.Kind, set.Name, FeatureSetSpec.ToJson(set), set.Description, set.Labels, Project.TimeProvider.GetUtcNow()),
            cancellationToken).ConfigureAwait(false);
        return set.WithSchema(set.Schema!, set.Fitted, record.Version);
    }

    /// <summary>Loads a stored version; <paramref name="withSteps"/> false skips rebuilding its steps (see <see cref="FeatureSetSpec.FromJson"/>).</summary>
    public async Task<FeatureSet?> FindAsync(string name, string versionOrTag, CancellationToken cancellationToken, bool withSteps = true)
    {
        var record = await Specs.GetAsync(Project.Name, FeatureSetSpec.Kind, name, versionOrTag, cancellationToken).ConfigureAwait(false);
        return record is null ? null : FeatureSetSpec.FromJson(record.Body, withSteps ? context.Steps : null, record.Description, record.Labels, record.Version);
    }

    /// <summary>The latest stored version of a set without its steps (its schema and fitted values), and its status.</summary>
    public async Task<(FeatureSet? Stored, FeatureSetStatus Status)> LatestForIngestionAsync(string name, CancellationToken cancellationToken)
    {
        var record = await Specs.GetAsync(Project.Name, FeatureSetSpec.Kind, name, "latest", cancellationToken).ConfigureAwait(false);
        // the stored version gives the schema and fitted values; its steps are the given definition's business
        var stored = record is null ? null : FeatureSetSpec.FromJson(record.Body, null, record.Description, record.Labels, record.Version);
        // a version saved since the last ingestion has no status yet: the completed ingestions are those of the last one
        var status = FeatureSetStatus.FromJson(record is null ? null : record.Status ?? await CarriedStatusAsync(name, cancellationToken).ConfigureAwait(false));
        return (stored, status);
    }

    /// <summary>
    /// Splits a name or store URI (<c>store://feature-sets/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>) into the
    /// name and the version or tag (the URI's reference wins over <paramref name="versionOrTag"/>).
    /// </summary>
    public (string Name, string VersionOrTag) Resolve(string nameOrUri, string versionOrTag, string scheme)
        => StoreUri.ResolveName(nameOrUri, versionOrTag, scheme, Project.Name);

    public async Task TagAsync(string kind, string name, int version, string tag, CancellationToken cancellationToken)
    {
        Throw.IfNullOrWhitespace(name);
        Names.SpecTag(tag);
        await Specs.SetTagAsync(Project.Name, kind, name, tag, version, cancellationToken).ConfigureAwait(false);
    }

    public async Task<FeatureSet> GetFeatureSetAsync(string name, string versionOrTag, CancellationToken cancellationToken)
    {
        (name, versionOrTag) = Resolve(name, versionOrTag, StoreUri.FeatureSets);
        return await FindAsync(name, versionOrTag, cancellationToken).ConfigureAwait(false) ?? throw await NotFoundAsync(name, versionOrTag, cancellationToken).ConfigureAwait(false);
    }

    private async Task<NotFoundException> NotFoundAsync(string name, string versionOrTag, CancellationToken cancellationToken)
    {
        var known = await Specs.ListAsync(Project.Name, FeatureSetSpec.Kind, cancellationToken).ConfigureAwait(false);
        return new NotFoundException("feature set", $"{name}:{versionOrTag}",
            $"The feature set '{name}' (version or tag '{versionOrTag}') does not exist in project '{Project.Name}'. Known feature sets: {(known.Count == 0 ? "none" : string.Join(", ", known.Select(k => k.Name)))}.");
    }

    public async Task<IReadOnlyList<FeatureSetInfo>> ListFeatureSetsAsync(CancellationToken cancellationToken)
    {
        var records = await Specs.ListAsync(Project.Name, FeatureSetSpec.Kind, cancellationToken).ConfigureAwait(false);
        return records.Select(ToInfo).ToArray();
    }

    public async Task<FeatureSetInfo> GetInfoAsync(string name, string versionOrTag, CancellationToken cancellationToken)
    {
        (name, versionOrTag) = Resolve(name, versionOrTag, StoreUri.FeatureSets);
        var record = await Specs.GetAsync(Project.Name, FeatureSetSpec.Kind, name, versionOrTag, cancellationToken).ConfigureAwait(false)
            ?? throw await NotFoundAsync(name, versionOrTag, cancellationToken).ConfigureAwait(false);
        return ToInfo(record);
    }

    /// <summary>The statistics of the latest version's last ingestion, or those of the last version that has some.</summary>
    public async Task<DatasetProfile?> GetStatisticsAsync(string name, CancellationToken cancellationToken)
        => (await GetInfoAsync(name, "latest", cancellationToken).ConfigureAwait(false)).Status.Statistics
            ?? await ListVersionStatisticsAsync(name, cancellationToken).ConfigureAwait(false); // a new version not ingested yet

    private async Task<DatasetProfile?> ListVersionStatisticsAsync(string name, CancellationToken cancellationToken)
    {
        var versions = await Specs.ListVersionsAsync(Project.Name, FeatureSetSpec.Kind, name, cancellationToken).ConfigureAwait(false);
        return versions.Select(v => FeatureSetStatus.FromJson(v.Status).Statistics).LastOrDefault(s => s is not null);
    }

    /// <summary>Deletes every version of a set's spec.</summary>
    public Task<bool> DeleteFeatureSetAsync(string name, CancellationToken cancellationToken)
        => Specs.DeleteAsync(Project.Name, FeatureSetSpec.Kind, name, cancellationToken);

    private static FeatureSetInfo ToInfo(SpecRecord r) => new(
        r.Name, r.Version, $"store://feature-sets/{r.Project}/{r.Name}:{r.Version}", r.Description, r.Labels, r.Created, r.Updated, r.Tags,
        FeatureSetStatus.FromJson(r.Status), ReadSchema(r.Body));

    private static FeatureColumn[]? ReadSchema(string body)
        => JsonNode.Parse(body)?["schema"] is JsonArray a ? a.Select(n => new FeatureColumn((string)n!["name"]!, Enum.Parse<FeatureType>((string)n["type"]!))).ToArray() : null;

    /// <summary>Records a completed ingestion in the status of the version it used.</summary>
    public async Task CompleteIngestionAsync(FeatureSet current, IngestReport report, CancellationToken cancellationToken)
    {
        // the status of the version used, carrying over the completed ingestions of earlier versions
        var records = await Specs.ListVersionsAsync(Project.Name, FeatureSetSpec.Kind, current.Name, cancellationToken).ConfigureAwait(false);
        var mine = records.FirstOrDefault(r => r.Version == current.Version);
        var status = FeatureSetStatus.FromJson(mine?.Status ?? CarriedStatus(records));
        var completed = status.Completed.OrderByDescending(kv => kv.Value.Started).Take(CompletedKept - 1).ToDictionary(kv => kv.Key, kv => kv.Value);
        completed[report.IngestId] = report with { Statistics = null };
        var updated = new FeatureSetStatus
        {
            Ingestions = status.Ingestions + 1,
            RowsIngested = status.RowsIngested + report.RowsWritten,
            LastIngested = report.Started + report.Duration,
            Statistics = report.Statistics ?? status.Statistics,
            Completed = completed,
        };
        await Specs.UpdateStatusAsync(Project.Name, FeatureSetSpec.Kind, current.Name, current.Version!.Value, updated.ToJson(), Project.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The status of the version that was ingested last (the one a new version carries over).</summary>
    private async Task<string?> CarriedStatusAsync(string name, CancellationToken cancellationToken)
        => CarriedStatus(await Specs.ListVersionsAsync(Project.Name, FeatureSetSpec.Kind, name, cancellationToken).ConfigureAwait(false));

    private static string? CarriedStatus(IEnumerable<SpecRecord> versions)
        => versions.Where(r => r.Status is not null).OrderByDescending(r => r.Updated).ThenByDescending(r => r.Version).FirstOrDefault()?.Status;

    /// <summary>Claims the next ingestion number of a set for a token (an ingestion id or a push flush).</summary>
    public Task<long> ClaimSequenceAsync(string set, string token, DateTimeOffset at, CancellationToken cancellationToken)
        => Specs.ClaimSequenceAsync(Project.Name, SequenceScope(set), token, at, cancellationToken);

    /// <summary>Gives back a claimed ingestion number that nothing committed under.</summary>
    public Task ReleaseSequenceAsync(string set, string token)
        => Specs.ReleaseSequenceAsync(Project.Name, SequenceScope(set), token, CancellationToken.None);

    private static string SequenceScope(string set) => $"feature-set/{set}";

    /// <summary>Saves a vector already checked against the stored sets.</summary>
    public async Task<FeatureVector> SaveVectorAsync(FeatureVector vector, CancellationToken cancellationToken)
    {
        var record = await Specs.SaveAsync(
            new NewSpec(Project.Name, VectorKind, vector.Name, vector.ToJson(), vector.Description, new Dictionary<string, string>(), Project.TimeProvider.GetUtcNow()),
            cancellationToken).ConfigureAwait(false);
        return FeatureVector.FromJson(record.Body, record.Description, record.Version);
    }

    public async Task<FeatureVector> GetVectorAsync(string name, string versionOrTag, CancellationToken cancellationToken)
    {
        (name, versionOrTag) = Resolve(name, versionOrTag, StoreUri.FeatureVectors);
        var record = await Specs.GetAsync(Project.Name, VectorKind, name, versionOrTag, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            var known = await Specs.ListAsync(Project.Name, VectorKind, cancellationToken).ConfigureAwait(false);
            throw new NotFoundException("feature vector", $"{name}:{versionOrTag}",
                $"The feature vector '{name}' (version or tag '{versionOrTag}') does not exist in project '{Project.Name}'. Known vectors: {(known.Count == 0 ? "none" : string.Join(", ", known.Select(k => k.Name)))}.");
        }

        return FeatureVector.FromJson(record.Body, record.Description, record.Version);
    }
}
