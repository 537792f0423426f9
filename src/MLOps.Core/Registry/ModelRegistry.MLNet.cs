using Microsoft.ML;
using MLOps.Registry.Internal;

namespace MLOps.Registry;

public sealed partial class ModelRegistry
{
    /// <summary>The framework name under which ML.NET models are registered: <c>mlnet</c>.</summary>
    public const string MLNetFramework = "mlnet";

    /// <summary>Registers an ML.NET model as the next version of <paramref name="name"/> without an active run (inside a run,
    /// use <c>run.LogModelAsync</c>). The model is saved with <c>MLContext.Model.Save</c> together with its input schema;
    /// the version records the input and output schemas, metrics, parameters, lineage and extra files.</summary>
    /// <param name="name">The model name, e.g. <c>delay-model</c>.</param>
    /// <param name="model">The trained model.</param>
    /// <param name="inputSchema">The schema of the data the model was trained on (e.g. <c>trainData.Schema</c>).</param>
    /// <param name="options">Description, tags, metrics, parameters, training data, extra files and aliases.</param>
    /// <param name="runId">The run that produced the model (e.g. a completed hyper-parameter iteration), or <see langword="null"/>.
    /// When given, its latest metrics, results and parameters are the defaults of <paramref name="options"/>, the model is
    /// recorded as an output of that run and the training data as an input.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version (with the aliases of <see cref="ModelLogOptions.Aliases"/>).</returns>
    /// <exception cref="ValidationException">The name, an alias, a URI, a metadata key or an extra file is invalid, or the
    /// model does not accept the input schema; every problem is listed.</exception>
    /// <exception cref="NotFoundException"><paramref name="runId"/> is not a run of this project.</exception>
    public Task<ModelVersionRecord> RegisterAsync(string name, ITransformer model, DataViewSchema inputSchema, ModelLogOptions? options = null, string? runId = null, CancellationToken cancellationToken = default)
    {
        if (runId is not null) Names.RunId(runId);
        return RegisterMLNetAsync(name, model, inputSchema, options ?? new ModelLogOptions(), runId, cancellationToken);
    }

    internal async Task<ModelVersionRecord> RegisterMLNetAsync(string name, ITransformer model, DataViewSchema inputSchema, ModelLogOptions options, string? runId, CancellationToken cancellationToken)
    {
        Names.Name(name, "model name");
        Throw.IfNull(model);
        Throw.IfNull(inputSchema);
        var errors = MetadataErrors(options.TrainingData, options.FeatureVector, options.Tags.Keys.Concat(options.Metrics.Keys).Concat(options.Parameters.Keys), options.ExtraFiles);
        foreach (var alias in options.Aliases)
        {
            try { ValidateAlias(alias); }
            catch (ValidationException e) { errors.Add(e.Message); }
        }
        ThrowIfInvalid(name, errors);
        var run = runId is null ? null : await GetProducerRunAsync(name, runId, cancellationToken).ConfigureAwait(false);

        DataViewSchema outputSchema;
        try
        {
            outputSchema = model.GetOutputSchema(inputSchema);
        }
        catch (Exception e) when (MLNetSchema.IsSchemaError(e))
        {
            throw new ValidationException($"Model '{name}' does not accept the input schema it is logged with ({MLNetSchema.Describe(inputSchema)}): {e.Message} Pass the schema of the data the model was trained on, e.g. trainData.Schema.", e);
        }

        var (hash, size) = await SaveContentAsync(model, inputSchema, cancellationToken).ConfigureAwait(false);

        var fileOptions = new ModelFileOptions
        {
            Description = options.Description,
            RunId = runId,
            TrainingData = options.TrainingData,
            FeatureVector = options.FeatureVector,
        };
        foreach (var (k, v) in options.Tags) fileOptions.Tags[k] = v;
        foreach (var (k, v) in options.ExtraFiles) fileOptions.ExtraFiles[k] = v;
        if (options.Metrics.Count > 0 || run is null)
        {
            foreach (var (k, v) in options.Metrics) fileOptions.Metrics[k] = v;
        }
        else
        {
            foreach (var (k, v) in run.Metrics) fileOptions.Metrics[k] = v;
            foreach (var (k, v) in run.Results) fileOptions.Metrics[k] = v;
        }
        IEnumerable<KeyValuePair<string, string>> parameters = options.Parameters.Count > 0 || run is null ? options.Parameters : run.Parameters;
        foreach (var (k, v) in parameters) fileOptions.Parameters[k] = v;
        foreach (var c in MLNetSchema.ToColumns(inputSchema)) fileOptions.InputSchema.Add(c);
        foreach (var c in MLNetSchema.ToColumns(outputSchema)) fileOptions.OutputSchema.Add(c);

        var version = await AddVersionAsync(name, MLNetFramework, hash, size, name + ".zip", fileOptions, cancellationToken).ConfigureAwait(false);

        foreach (var alias in options.Aliases.Distinct(StringComparer.Ordinal))
            await _project.Store.Models.SetAliasAsync(_project.Name, name, alias, version.Version, _project.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);

        if (run is not null)
        {
            var links = new List<RunLink> { new(RunLinkDirection.Output, ModelOutputName(name), version.Uri) };
            AddInputLink(run, links, "training-data", name, options.TrainingData);
            AddInputLink(run, links, "feature-vector", name, options.FeatureVector);
            await _project.Store.Runs.AddLinksAsync(run.Id, links, cancellationToken).ConfigureAwait(false);
        }

        return options.Aliases.Count == 0
            ? version
            : await GetVersionAsync(name, version.Version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The name of the run output that points at a model version it logged: <c>models/&lt;name&gt;</c>.</summary>
    internal static string ModelOutputName(string modelName) => "models/" + modelName;

    private async Task<(string Hash, long Size)> SaveContentAsync(ITransformer model, DataViewSchema inputSchema, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(Path.GetTempPath(), $"mlops-model-{Guid.NewGuid():N}.zip");
        await using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose);
        try
        {
            new MLContext().Model.Save(model, inputSchema, file);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException)
        {
            throw new ValidationException($"ML.NET could not save the model: {e.Message} Only models whose transformers are all saveable can be registered; register another format with RegisterFileAsync.", e);
        }
        file.Position = 0;
        return await _project.Content.PutAsync(file, cancellationToken).ConfigureAwait(false);
    }

    private static void AddInputLink(RunRecord run, List<RunLink> links, string linkName, string modelName, string? uri)
    {
        if (uri is null) return;
        if (run.Links.Any(l => l.Direction == RunLinkDirection.Input && l.Uri == uri) || links.Any(l => l.Direction == RunLinkDirection.Input && l.Uri == uri))
            return;
        var taken = run.Links.Any(l => l.Direction == RunLinkDirection.Input && l.Name == linkName) || links.Any(l => l.Direction == RunLinkDirection.Input && l.Name == linkName);
        links.Add(new RunLink(RunLinkDirection.Input, taken ? linkName + "/" + modelName : linkName, uri));
    }
}
