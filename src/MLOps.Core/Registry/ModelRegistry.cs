using System.Globalization;

namespace MLOps.Registry;

/// <summary>Options of a model version registered from files (any framework).</summary>
public sealed class ModelFileOptions
{
    /// <summary>A description. <value>Defaults to none.</value></summary>
    public string? Description { get; set; }
    /// <summary>The run that produced the model. <value>Defaults to none.</value></summary>
    public string? RunId { get; set; }
    /// <summary>Tags. <value>Defaults to none.</value></summary>
    public IDictionary<string, string> Tags { get; } = new Dictionary<string, string>();
    /// <summary>Metrics measured on the model. <value>Defaults to none.</value></summary>
    public IDictionary<string, double> Metrics { get; } = new Dictionary<string, double>();
    /// <summary>Training parameters. <value>Defaults to none.</value></summary>
    public IDictionary<string, string> Parameters { get; } = new Dictionary<string, string>();
    /// <summary>The input schema. <value>Defaults to none.</value></summary>
    public IList<ModelColumn> InputSchema { get; } = new List<ModelColumn>();
    /// <summary>The output schema. <value>Defaults to none.</value></summary>
    public IList<ModelColumn> OutputSchema { get; } = new List<ModelColumn>();
    /// <summary>The URI of the training dataset (lineage). <value>Defaults to none.</value></summary>
    public string? TrainingData { get; set; }
    /// <summary>The URI of the feature vector it was trained on. <value>Defaults to none.</value></summary>
    public string? FeatureVector { get; set; }
    /// <summary>Extra files to store with the model, by name (e.g. <c>"labels.txt"</c>) and local path. <value>Defaults to none.</value></summary>
    public IDictionary<string, string> ExtraFiles { get; } = new Dictionary<string, string>();
}

/// <summary>
/// The model registry of a project: versions (1, 2, 3 ... per name) linked to the runs that produced them, aliases
/// such as <c>production</c> (unique per model, movable, with history), tags, descriptions, loading and lineage.
/// Reached through <c>project.Models</c>.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed partial class ModelRegistry : IAsyncDisposable, IDisposable
{
    private readonly MLOpsProject _project;

    internal ModelRegistry(MLOpsProject project) => _project = project;

    /// <summary>Registers a model file of any framework (ONNX, LightGBM, a pickled model ...) as the next version.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="path">The model file.</param>
    /// <param name="framework">The framework name, e.g. <c>onnx</c>.</param>
    /// <param name="options">Metadata: run, metrics, parameters, schema, training data, extra files.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version.</returns>
    /// <exception cref="ValidationException">A URI, a metadata key or an extra file is invalid; every problem is listed and nothing is stored.</exception>
    /// <exception cref="NotFoundException"><see cref="ModelFileOptions.RunId"/> is not a run of this project.</exception>
    public async Task<ModelVersionRecord> RegisterFileAsync(string name, string path, string framework, ModelFileOptions? options = null, CancellationToken cancellationToken = default)
    {
        Names.Name(name, "model name");
        Names.Required(path, "model file path", "Pass the path of an existing model file, e.g. 'model.onnx'.");
        Names.Name(framework, "framework name");
        options ??= new ModelFileOptions();
        ThrowIfInvalid(name, MetadataErrors(options.TrainingData, options.FeatureVector, options.Tags.Keys.Concat(options.Metrics.Keys).Concat(options.Parameters.Keys), options.ExtraFiles));
        if (options.RunId is not null) await GetProducerRunAsync(name, options.RunId, cancellationToken).ConfigureAwait(false);
        var (hash, size) = await _project.Content.PutFileAsync(path, cancellationToken).ConfigureAwait(false);
        return await AddVersionAsync(name, framework, hash, size, Path.GetFileName(path), options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The run a model version is linked to; it must be a run of this project.</summary>
    private async Task<RunRecord> GetProducerRunAsync(string modelName, string runId, CancellationToken cancellationToken)
    {
        var run = await _project.Store.Runs.GetAsync(runId, cancellationToken).ConfigureAwait(false);
        return run is not null && run.Project == _project.Name
            ? run
            : throw new NotFoundException("run", runId, $"Run '{runId}' does not exist in project '{_project.Name}', so model '{modelName}' cannot be linked to it. Pass the id of a run of this project (run.Id), or no run id.");
    }

    /// <summary>Every problem of a new version's metadata: lineage URIs, metadata keys and extra files.</summary>
    private static List<string> MetadataErrors(string? trainingData, string? featureVector, IEnumerable<string> keys, IEnumerable<KeyValuePair<string, string>> extraFiles)
    {
        var errors = new List<string>();
        foreach (var (field, uri) in new[] { ("TrainingData", trainingData), ("FeatureVector", featureVector) })
            if (uri is not null && !StoreUri.TryParse(uri, out _))
                errors.Add($"{field} '{uri}' is not a store URI. Pass the Uri of a logged artifact, e.g. store://datasets/<project>/<key>:<version>.");
        foreach (var key in keys)
        {
            try { Names.Key(key, "model metadata key"); }
            catch (ValidationException e) { errors.Add(e.Message); }
        }
        foreach (var (fileName, path) in extraFiles)
        {
            if (fileName.IndexOfAny(['/', '\\']) >= 0 || fileName is "" or "." or "..")
                errors.Add($"The extra file name '{fileName}' must be a plain file name such as 'labels.txt'.");
            else if (!File.Exists(path))
                errors.Add($"The extra file '{fileName}' does not exist at '{path}'.");
        }
        return errors;
    }

    private static void ThrowIfInvalid(string name, List<string> errors)
    {
        if (errors.Count > 0) throw new ValidationException($"The new version of model '{name}' is invalid", errors);
    }

    /// <summary>Stores the extra files and records the version; the metadata and the run are validated by the caller.</summary>
    private async Task<ModelVersionRecord> AddVersionAsync(string name, string framework, string hash, long size, string fileName, ModelFileOptions options, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, string>();
        foreach (var (fileKey, filePath) in options.ExtraFiles)
            files[fileKey] = (await _project.Content.PutFileAsync(filePath, cancellationToken).ConfigureAwait(false)).Hash;
        return await _project.Store.Models.AddVersionAsync(new NewModelVersion
        {
            Project = _project.Name,
            Name = name,
            Framework = framework,
            ContentHash = hash,
            Size = size,
            FileName = fileName,
            Created = _project.TimeProvider.GetUtcNow(),
            RunId = options.RunId,
            Description = options.Description,
            Tags = new Dictionary<string, string>(options.Tags),
            Metrics = new Dictionary<string, double>(options.Metrics),
            Parameters = new Dictionary<string, string>(options.Parameters),
            InputSchema = [.. options.InputSchema],
            OutputSchema = [.. options.OutputSchema],
            TrainingData = options.TrainingData,
            FeatureVector = options.FeatureVector,
            Files = files,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a registered model (description, tags, latest version, aliases).</summary>
    /// <param name="name">The model name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The model.</returns>
    /// <exception cref="NotFoundException">The model is not registered.</exception>
    public async Task<RegisteredModelRecord> GetAsync(string name, CancellationToken cancellationToken = default)
        => await _project.Store.Models.GetModelAsync(_project.Name, Names.Name(name, "model name"), cancellationToken).ConfigureAwait(false)
           ?? throw ModelNotFound(_project.Name, name, (await ListAsync(cancellationToken).ConfigureAwait(false)).Select(m => m.Name));

    /// <summary>Lists the project's registered models.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The models, by name.</returns>
    public Task<IReadOnlyList<RegisteredModelRecord>> ListAsync(CancellationToken cancellationToken = default)
        => _project.Store.Models.ListModelsAsync(_project.Name, cancellationToken);

    /// <summary>Lists the versions of a model, newest first.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The versions.</returns>
    /// <exception cref="NotFoundException">The model is not registered; the message lists the models that are.</exception>
    public async Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken = default)
    {
        var model = await GetAsync(name, cancellationToken).ConfigureAwait(false);
        return await _project.Store.Models.ListVersionsAsync(_project.Name, model.Name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one version.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="version">The version number.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version.</returns>
    /// <exception cref="NotFoundException">The model or version does not exist.</exception>
    public async Task<ModelVersionRecord> GetVersionAsync(string name, int version, CancellationToken cancellationToken = default)
    {
        Names.Name(name, "model name");
        var v = await _project.Store.Models.GetVersionAsync(_project.Name, name, version, cancellationToken).ConfigureAwait(false);
        if (v is not null) return v;
        var model = await GetAsync(name, cancellationToken).ConfigureAwait(false);
        throw new NotFoundException("model version", $"{name}:{version}", $"Model '{name}' has no version {version}; its versions are 1 to {model.LatestVersion}.");
    }

    /// <summary>Resolves a version by alias (<c>production</c>), number (<c>3</c>), <c>latest</c>, or a model URI
    /// (<c>store://models/flights/delay-model:production</c>).</summary>
    /// <param name="nameOrUri">The model name, or a model URI (then <paramref name="reference"/> must be null).</param>
    /// <param name="reference">An alias, a version number or <c>latest</c>; <see langword="null"/> means <c>latest</c> (or the URI's reference).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version.</returns>
    /// <exception cref="NotFoundException">The model, version or alias does not exist.</exception>
    public async Task<ModelVersionRecord> ResolveAsync(string nameOrUri, string? reference = null, CancellationToken cancellationToken = default)
    {
        Names.Required(nameOrUri, "model name or URI", "Pass a model name such as 'delay-model' or a URI such as 'store://models/<project>/delay-model:production'.");
        if (reference is not null && string.IsNullOrWhiteSpace(reference))
            throw new ValidationException($"The model reference is {Names.Describe(reference)}. Pass an alias such as 'production', a version number such as '3', 'latest', or null for the latest version.");
        var name = nameOrUri;
        if (nameOrUri.StartsWith("store://", StringComparison.Ordinal))
        {
            var uri = StoreUri.Parse(nameOrUri);
            if (uri.Scheme != StoreUri.Models)
                throw new ValidationException($"'{nameOrUri}' is not a model URI. Write store://models/<project>/<name>:<version-or-alias>.");
            if (uri.Project != _project.Name)
                throw new ValidationException($"'{nameOrUri}' belongs to project '{uri.Project}', not '{_project.Name}'. Open that project to load it.");
            name = uri.Key;
            reference ??= uri.Reference;
        }
        reference ??= "latest";
        if (int.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            return await GetVersionAsync(name, number, cancellationToken).ConfigureAwait(false);
        var model = await GetAsync(name, cancellationToken).ConfigureAwait(false);
        if (reference == "latest") return await GetVersionAsync(name, model.LatestVersion, cancellationToken).ConfigureAwait(false);
        if (model.Aliases.TryGetValue(reference, out var aliased)) return await GetVersionAsync(name, aliased, cancellationToken).ConfigureAwait(false);
        throw new NotFoundException("alias", $"{name}:{reference}",
            $"Model '{name}' has no alias '{reference}'. " + (model.Aliases.Count == 0
                ? $"It has no aliases yet: set one with project.Models.SetAliasAsync(\"{name}\", \"{reference}\", version)."
                : $"Its aliases are: {Names.ListSome(model.Aliases.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key} -> v{a.Value}"))}."));
    }

    /// <summary>Points an alias (such as <c>production</c> or <c>champion</c>) at a version. An alias is unique per model:
    /// setting it moves it away from its previous version. Every change is kept in the alias history.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version the alias now points at.</returns>
    public async Task<ModelVersionRecord> SetAliasAsync(string name, string alias, int version, CancellationToken cancellationToken = default)
    {
        Names.Name(name, "model name");
        ValidateAlias(alias);
        await _project.Store.Models.SetAliasAsync(_project.Name, name, alias, version, _project.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return await GetVersionAsync(name, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes an alias.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when the alias existed.</returns>
    /// <exception cref="NotFoundException">The model is not registered.</exception>
    public async Task<bool> DeleteAliasAsync(string name, string alias, CancellationToken cancellationToken = default)
    {
        Names.Name(alias, "alias");
        var model = await GetAsync(name, cancellationToken).ConfigureAwait(false);
        return await _project.Store.Models.DeleteAliasAsync(_project.Name, model.Name, alias, _project.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The history of an alias: every time it was set, moved or removed.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The changes, oldest first (empty for an alias that was never set).</returns>
    /// <exception cref="NotFoundException">The model is not registered.</exception>
    public async Task<IReadOnlyList<AliasChange>> GetAliasHistoryAsync(string name, string alias, CancellationToken cancellationToken = default)
    {
        Names.Name(alias, "alias");
        var model = await GetAsync(name, cancellationToken).ConfigureAwait(false);
        return await _project.Store.Models.GetAliasHistoryAsync(_project.Name, model.Name, alias, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets a model's description.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="description">The description.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task SetDescriptionAsync(string name, string description, CancellationToken cancellationToken = default)
        => _project.Store.Models.UpdateModelAsync(_project.Name, Names.Name(name, "model name"), Throw.IfNull(description), null, cancellationToken);

    /// <summary>Sets (or with <see langword="null"/> removes) a tag of a model.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The value, or <see langword="null"/> to remove.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task SetTagAsync(string name, string key, string? value, CancellationToken cancellationToken = default)
        => _project.Store.Models.UpdateModelAsync(_project.Name, Names.Name(name, "model name"), null,
            new Dictionary<string, string?> { [Names.Key(key, "tag key")] = value }, cancellationToken);

    /// <summary>Sets a version's description.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="version">The version.</param>
    /// <param name="description">The description.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task SetVersionDescriptionAsync(string name, int version, string description, CancellationToken cancellationToken = default)
        => _project.Store.Models.UpdateVersionAsync(_project.Name, Names.Name(name, "model name"), version, Throw.IfNull(description), null, cancellationToken);

    /// <summary>Sets (or with <see langword="null"/> removes) a tag of a version.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="version">The version.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The value, or <see langword="null"/> to remove.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task SetVersionTagAsync(string name, int version, string key, string? value, CancellationToken cancellationToken = default)
        => _project.Store.Models.UpdateVersionAsync(_project.Name, Names.Name(name, "model name"), version, null,
            new Dictionary<string, string?> { [Names.Key(key, "tag key")] = value }, cancellationToken);

    /// <summary>Opens the model file of a version.</summary>
    /// <param name="version">The version.</param>
    /// <returns>A read-only stream; dispose it.</returns>
    /// <exception cref="ValidationException">The version belongs to another project.</exception>
    public Stream OpenRead(ModelVersionRecord version) => _project.Content.OpenRead(OfThisProject(version).ContentHash);

    /// <summary>Opens an extra file stored with a version.</summary>
    /// <param name="version">The version.</param>
    /// <param name="fileName">The extra file's name.</param>
    /// <returns>A read-only stream; dispose it.</returns>
    /// <exception cref="ValidationException">The file name is empty, or the version belongs to another project.</exception>
    /// <exception cref="NotFoundException">The version has no extra file of that name.</exception>
    public Stream OpenExtraFile(ModelVersionRecord version, string fileName)
    {
        OfThisProject(version);
        Names.Required(fileName, "extra file name", $"Pass the name of one of the version's extra files: {Names.ListSome(version.Files.Keys.Order(StringComparer.Ordinal))}.");
        return version.Files.TryGetValue(fileName, out var hash)
            ? _project.Content.OpenRead(hash)
            : throw new NotFoundException("model file", fileName, $"Version {version.Version} of model '{version.Name}' has no extra file '{fileName}'. Its files are: {Names.ListSome(version.Files.Keys.Order(StringComparer.Ordinal))}.");
    }

    private ModelVersionRecord OfThisProject(ModelVersionRecord version)
    {
        Throw.IfNull(version);
        return version.Project == _project.Name
            ? version
            : throw new ValidationException($"Version {version.Version} of model '{version.Name}' belongs to project '{version.Project}', not '{_project.Name}'. Read it through that project.");
    }

    private static void ValidateAlias(string alias)
    {
        Names.Name(alias, "alias");
        if (alias == "latest" || int.TryParse(alias, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            throw new ValidationException($"'{alias}' cannot be an alias: 'latest' and numbers already mean versions. Use a name such as 'production' or 'champion'.");
    }

    /// <summary>The error for a model that is not registered, listing (up to 20 of) the models that are.</summary>
    internal static NotFoundException ModelNotFound(string project, string name, IEnumerable<string> registered)
    {
        var names = Names.ListSome(registered, none: "");
        return new("model", name, $"Model '{name}' is not registered in project '{project}'. " + (names.Length == 0
            ? $"The project has no registered models yet: register a version first with run.LogModelAsync(\"{name}\", ...) or project.Models.RegisterFileAsync(...)."
            : $"Its registered models are: {names}. Register a new model with run.LogModelAsync(\"{name}\", ...) or project.Models.RegisterFileAsync(...)."));
    }

    /// <summary>Releases the cached loaded models. Idempotent; the project does this when it is disposed.</summary>
    /// <returns>A task that completes when released.</returns>
    public ValueTask DisposeAsync() => DisposeLoadedAsync();

    /// <summary>Releases the cached loaded models, for callers that cannot await (a dependency-injection container
    /// disposed with <c>Dispose()</c>). Idempotent.</summary>
    public void Dispose() => DisposeLoadedAsync().AsTask().GetAwaiter().GetResult();

    private partial ValueTask DisposeLoadedAsync();
}
