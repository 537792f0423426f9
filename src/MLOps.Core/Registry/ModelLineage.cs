using System.Globalization;
using System.Text;

namespace MLOps.Registry;

/// <summary>
/// Where a model version comes from: the run that produced it and, recursively, that run's inputs, the runs that produced
/// those inputs and their inputs (dataset → run that produced it → its inputs ...). Read it with
/// <see cref="ModelRegistry.GetLineageAsync"/>; <see cref="ToString"/> renders an indented tree for consoles and notebooks.
/// </summary>
/// <param name="Version">The model version.</param>
/// <param name="Run">The run that produced it, or <see langword="null"/> when it was registered without a run (or the run was deleted).</param>
/// <param name="Inputs">The inputs of that run, plus the version's training data and feature vector when the run does not list them.</param>
public sealed record ModelLineage(ModelVersionRecord Version, RunRecord? Run, IReadOnlyList<LineageInput> Inputs)
{
    /// <summary>Renders the lineage as an indented tree, e.g.
    /// <code>
    /// model delay-model v2 (mlnet) store://models/flights/delay-model:2 [production]
    ///   produced by run 'train' 0197... (Completed)
    ///     input 'training-data' store://datasets/flights/flights-train:1
    ///       produced by run 'prepare' 0197... (Completed)
    /// </code></summary>
    /// <returns>The tree.</returns>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"model {Version.Name} v{Version.Version} ({Version.Framework}) {Version.Uri}");
        if (Version.Aliases.Count > 0) sb.Append(" [").AppendJoin(", ", Version.Aliases).Append(']');
        if (Version.Metrics.Count > 0)
            sb.Append(" metrics: ").AppendJoin(", ", Version.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key}={m.Value:G6}")));
        sb.AppendLine();
        sb.Append("  ");
        if (Run is null) sb.AppendLine(Version.RunId is null ? "produced by: no run recorded" : $"produced by run {Version.RunId} (deleted)");
        else LineageInput.AppendRun(sb, Run);
        foreach (var input in Inputs) input.AppendTo(sb, 2);
        return sb.ToString().TrimEnd();
    }
}

/// <summary>An input of a run in a <see cref="ModelLineage"/>: its name and URI, the artifact it resolves to, the run
/// that produced it and, recursively, that run's inputs.</summary>
/// <param name="Name">The name under which the run knows the input, e.g. <c>training-data</c>.</param>
/// <param name="Uri">The URI, e.g. <c>store://datasets/flights/flights-train:1</c>.</param>
/// <param name="ProducerRun">The run that produced the input, or <see langword="null"/> when unknown (not produced by a tracked run, not a store URI, or deleted).</param>
/// <param name="Inputs">The inputs of <paramref name="ProducerRun"/>, resolved the same way (empty past the depth limit, see <see cref="IsTruncated"/>).</param>
public sealed record LineageInput(string Name, string Uri, RunRecord? ProducerRun, IReadOnlyList<LineageInput> Inputs)
{
    /// <summary>The artifact version the URI resolves to (datasets and files), or <see langword="null"/> for models, external URIs and missing artifacts.</summary>
    public ArtifactRecord? Artifact { get; init; }

    /// <summary>The registered model version the URI resolves to (when a run read a model), or <see langword="null"/>.</summary>
    public ModelVersionRecord? ModelVersion { get; init; }

    /// <summary>Whether <see cref="Inputs"/> was cut short: the depth limit was reached (or the producing run was already on
    /// the path) although <see cref="ProducerRun"/> has inputs.</summary>
    public bool IsTruncated { get; init; }

    /// <summary>Renders this input and what it comes from as an indented tree.</summary>
    /// <returns>The tree.</returns>
    public override string ToString()
    {
        var sb = new StringBuilder();
        AppendTo(sb, 0);
        return sb.ToString().TrimEnd();
    }

    internal void AppendTo(StringBuilder sb, int indent)
    {
        sb.Append(' ', indent).Append(CultureInfo.InvariantCulture, $"input '{Name}' {Uri}");
        if (Artifact is null && ModelVersion is null && Uri.StartsWith("store://", StringComparison.Ordinal)) sb.Append(" (not found)");
        sb.AppendLine();
        if (ProducerRun is null) return;
        sb.Append(' ', indent + 2);
        AppendRun(sb, ProducerRun);
        foreach (var input in Inputs) input.AppendTo(sb, indent + 4);
        if (IsTruncated) sb.Append(' ', indent + 4).AppendLine("... (more inputs past the depth limit)");
    }

    internal static void AppendRun(StringBuilder sb, RunRecord run)
    {
        sb.Append(CultureInfo.InvariantCulture, $"produced by run '{run.Name}' {run.Id} ({run.State}, started {run.StartTime:yyyy-MM-dd HH:mm:ss}Z)");
        if (run.Parameters.Count > 0)
            sb.Append(" params: ").AppendJoin(", ", run.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        sb.AppendLine();
    }
}
