using System.Globalization;

namespace MLOps.Registry;

public sealed partial class ModelRegistry
{
    /// <summary>The deepest lineage <see cref="GetLineageAsync"/> follows.</summary>
    public const int MaxLineageDepth = 50;

    /// <summary>Reads where a model version comes from: the run that produced it, that run's inputs (and the version's
    /// training data and feature vector), the runs that produced those inputs and, recursively, their inputs up to
    /// <paramref name="maxDepth"/> levels. <c>lineage.ToString()</c> renders a readable tree.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="version">The version number.</param>
    /// <param name="maxDepth">How many levels of inputs to follow (1 = only the inputs of the producing run), 1 to <see cref="MaxLineageDepth"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The lineage.</returns>
    /// <exception cref="NotFoundException">The model or version does not exist.</exception>
    /// <exception cref="ValidationException"><paramref name="maxDepth"/> is out of range.</exception>
    public async Task<ModelLineage> GetLineageAsync(string name, int version, int maxDepth = 5, CancellationToken cancellationToken = default)
    {
        if (maxDepth < 1 || maxDepth > MaxLineageDepth)
            throw new ValidationException($"The lineage depth (maxDepth) is {maxDepth}. Pass 1 to {MaxLineageDepth} levels of inputs to follow, e.g. 5.");
        var record = await GetVersionAsync(name, version, cancellationToken).ConfigureAwait(false);
        var run = record.RunId is null ? null : await _project.Store.Runs.GetAsync(record.RunId, cancellationToken).ConfigureAwait(false);
        var links = run is null ? [] : InputsOf(run);
        if (record.TrainingData is { } training && links.All(l => l.Uri != training)) links.Add(("training-data", training));
        if (record.FeatureVector is { } vector && links.All(l => l.Uri != vector)) links.Add(("feature-vector", vector));
        var path = new HashSet<string>(StringComparer.Ordinal);
        if (run is not null) path.Add(run.Id);
        var inputs = await ResolveInputsAsync(links, 1, maxDepth, path, cancellationToken).ConfigureAwait(false);
        return new ModelLineage(record, run, inputs);
    }

    private static List<(string Name, string Uri)> InputsOf(RunRecord run)
        => [.. run.Links.Where(l => l.Direction == RunLinkDirection.Input).Select(l => (l.Name, l.Uri))];

    private async Task<IReadOnlyList<LineageInput>> ResolveInputsAsync(List<(string Name, string Uri)> links, int depth, int maxDepth, HashSet<string> path, CancellationToken cancellationToken)
    {
        var result = new List<LineageInput>(links.Count);
        foreach (var (linkName, uri) in links)
        {
            ArtifactRecord? artifact = null;
            ModelVersionRecord? model = null;
            string? producerId = null;
            if (StoreUri.TryParse(uri, out var parsed))
            {
                if (parsed.Scheme == StoreUri.Models)
                {
                    model = await FindVersionAsync(parsed, cancellationToken).ConfigureAwait(false);
                    producerId = model?.RunId;
                }
                else
                {
                    artifact = await _project.Store.Artifacts.GetAsync(parsed.Project, parsed.Key, parsed.Reference ?? "latest", cancellationToken).ConfigureAwait(false);
                    producerId = artifact?.ProducerRunId;
                }
            }
            var producer = producerId is null ? null : await _project.Store.Runs.GetAsync(producerId, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<LineageInput> nested = [];
            var truncated = false;
            if (producer is not null)
            {
                var producerInputs = InputsOf(producer);
                if (depth >= maxDepth || path.Contains(producer.Id))
                {
                    truncated = producerInputs.Count > 0;
                }
                else
                {
                    path.Add(producer.Id);
                    nested = await ResolveInputsAsync(producerInputs, depth + 1, maxDepth, path, cancellationToken).ConfigureAwait(false);
                    path.Remove(producer.Id);
                }
            }
            result.Add(new LineageInput(linkName, uri, producer, nested) { Artifact = artifact, ModelVersion = model, IsTruncated = truncated });
        }
        return result;
    }

    private async Task<ModelVersionRecord?> FindVersionAsync(StoreUri uri, CancellationToken cancellationToken)
    {
        var reference = uri.Reference ?? "latest";
        if (int.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            return await _project.Store.Models.GetVersionAsync(uri.Project, uri.Key, number, cancellationToken).ConfigureAwait(false);
        var model = await _project.Store.Models.GetModelAsync(uri.Project, uri.Key, cancellationToken).ConfigureAwait(false);
        if (model is null) return null;
        var resolved = reference == "latest" ? model.LatestVersion : model.Aliases.GetValueOrDefault(reference);
        return resolved == 0 ? null : await _project.Store.Models.GetVersionAsync(uri.Project, uri.Key, resolved, cancellationToken).ConfigureAwait(false);
    }
}
