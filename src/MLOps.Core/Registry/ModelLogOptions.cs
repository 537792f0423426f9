namespace MLOps.Registry;

/// <summary>
/// Options of an ML.NET model logged with <c>run.LogModelAsync</c> or registered with
/// <see cref="ModelRegistry.RegisterAsync"/>: description, tags, metrics, parameters, lineage, extra files and aliases.
/// </summary>
/// <example>
/// <code>
/// await run.LogModelAsync("delay-model", model, trainData.Schema, new ModelLogOptions
/// {
///     TrainingData = dataset.Uri,
///     Metrics = { ["auc"] = metrics.AreaUnderRocCurve },
///     Aliases = { "challenger" },
/// });
/// </code>
/// </example>
public sealed class ModelLogOptions
{
    /// <summary>A description of the version.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public string? Description { get; set; }

    /// <summary>Tags of the version.</summary>
    /// <value>Default: empty.</value>
    public IDictionary<string, string> Tags { get; } = new Dictionary<string, string>();

    /// <summary>Metrics measured on the model (auc, accuracy, ...).</summary>
    /// <value>Default: empty, which means the latest metric values and results of the producing run (results win when a
    /// key is both); without a run, no metrics.</value>
    public IDictionary<string, double> Metrics { get; } = new Dictionary<string, double>();

    /// <summary>Training parameters.</summary>
    /// <value>Default: empty, which means the parameters of the producing run; without a run, no parameters.</value>
    public IDictionary<string, string> Parameters { get; } = new Dictionary<string, string>();

    /// <summary>The store URI of the training dataset (<c>store://datasets/&lt;project&gt;/&lt;key&gt;:&lt;version&gt;</c>).
    /// It is recorded on the version and added as an input of the producing run (lineage).</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public string? TrainingData { get; set; }

    /// <summary>The store URI of the feature vector the model was trained on; also added as an input of the producing run.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public string? FeatureVector { get; set; }

    /// <summary>Extra files to store with the model, by plain file name (e.g. <c>"labels.txt"</c>) and local path.
    /// Read them back with <see cref="ModelRegistry.OpenExtraFile"/>.</summary>
    /// <value>Default: empty.</value>
    public IDictionary<string, string> ExtraFiles { get; } = new Dictionary<string, string>();

    /// <summary>Aliases to point at the new version right away, e.g. <c>challenger</c>. Each alias moves away from the
    /// version it pointed at before (see <see cref="ModelRegistry.SetAliasAsync"/>).</summary>
    /// <value>Default: empty.</value>
    public IList<string> Aliases { get; } = new List<string>();
}
