namespace MLOps.Artifacts;

/// <summary>
/// An MLOps store URI: <c>store://&lt;scheme&gt;/&lt;project&gt;/&lt;key&gt;[:&lt;version-or-tag&gt;]</c>, e.g.
/// <c>store://datasets/flights/train:latest</c> or <c>store://models/flights/delay-model:production</c>.
/// </summary>
/// <param name="Scheme"><c>artifacts</c>, <c>datasets</c> or <c>models</c>.</param>
/// <param name="Project">The project.</param>
/// <param name="Key">The artifact key or model name.</param>
/// <param name="Reference">A version number, a tag or an alias; <see langword="null"/> means <c>latest</c>.</param>
public sealed record StoreUri(string Scheme, string Project, string Key, string? Reference)
{
    /// <summary>The scheme of files, plots, tables and model files outside the registry.</summary>
    public const string Artifacts = "artifacts";

    /// <summary>The scheme of datasets.</summary>
    public const string Datasets = "datasets";

    /// <summary>The scheme of registered models.</summary>
    public const string Models = "models";

    /// <summary>The scheme of feature sets (<c>store://feature-sets/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>).</summary>
    public const string FeatureSets = "feature-sets";

    /// <summary>The scheme of feature vectors (<c>store://feature-vectors/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>).</summary>
    public const string FeatureVectors = "feature-vectors";

    /// <summary>The scheme of stored serving graphs (<c>store://serving-graphs/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>).</summary>
    public const string ServingGraphs = "serving-graphs";

    private const string Prefix = "store://";

    /// <summary>The scheme used for an artifact kind.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns><c>datasets</c> for datasets, otherwise <c>artifacts</c>.</returns>
    public static string SchemeFor(ArtifactKind kind) => kind == ArtifactKind.Dataset ? Datasets : Artifacts;

    /// <summary>Parses a store URI.</summary>
    /// <param name="uri">The URI text.</param>
    /// <returns>The parsed URI.</returns>
    /// <exception cref="ValidationException">The text is not a store URI.</exception>
    public static StoreUri Parse(string uri)
    {
        if (TryParse(uri, out var parsed, out var error)) return parsed;
        throw new ValidationException(error);
    }

    /// <summary>Tries to parse a store URI.</summary>
    /// <param name="uri">The URI text.</param>
    /// <param name="result">The parsed URI.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(string? uri, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoreUri? result)
        => TryParse(uri, out result, out _);

    private static bool TryParse(string? uri, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoreUri? result, out string error)
    {
        result = null;
        const string example = "Write store://<artifacts|datasets|models|feature-sets|feature-vectors|serving-graphs>/<project>/<key>[:<version-or-tag>], e.g. store://datasets/flights/train:latest.";
        if (uri is null || !uri.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = $"'{uri}' is not a store URI. {example}";
            return false;
        }
        var rest = uri[Prefix.Length..];
        var parts = rest.Split('/', 3);
        if (parts.Length < 3 || parts[0] is not (Artifacts or Datasets or Models or FeatureSets or FeatureVectors or ServingGraphs) || parts[1].Length == 0 || parts[2].Length == 0)
        {
            error = $"'{uri}' is not a store URI. {example}";
            return false;
        }
        var key = parts[2];
        string? reference = null;
        var colon = key.LastIndexOf(':');
        if (colon >= 0)
        {
            reference = key[(colon + 1)..];
            key = key[..colon];
            if (reference.Length == 0 || key.Length == 0)
            {
                error = $"'{uri}' has an empty key or version. {example}";
                return false;
            }
        }
        result = new StoreUri(parts[0], parts[1], key, reference);
        error = "";
        return true;
    }

    /// <summary>
    /// Splits a name or store URI (<c>store://&lt;scheme&gt;/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>) of a stored spec
    /// into the name and the version or tag; the URI's reference wins over <paramref name="versionOrTag"/>.
    /// </summary>
    /// <remarks>This is how the catalogs of stored specs (feature sets, feature vectors, serving graphs) accept either a
    /// plain name or a URI; a package that keeps specs of its own in the metadata store resolves its names the same way.</remarks>
    /// <param name="nameOrUri">A plain name (returned as is) or a store URI.</param>
    /// <param name="versionOrTag">The version or tag to use when the URI has no reference (or for a plain name).</param>
    /// <param name="scheme">The scheme the URI must have, e.g. <see cref="FeatureSets"/>.</param>
    /// <param name="project">The project the URI must belong to.</param>
    /// <returns>The name and the version or tag.</returns>
    /// <exception cref="ValidationException"><paramref name="nameOrUri"/> is empty, or the URI is malformed, has another
    /// scheme or belongs to another project.</exception>
    public static (string Name, string VersionOrTag) ResolveName(string nameOrUri, string versionOrTag, string scheme, string project)
    {
        Names.Required(nameOrUri, "name or URI", $"Pass a name, or a URI such as 'store://{scheme}/{project}/<name>:<version-or-tag>'.");
        if (!nameOrUri.StartsWith(Prefix, StringComparison.Ordinal)) return (nameOrUri, versionOrTag);
        var uri = Parse(nameOrUri);
        if (uri.Scheme != scheme)
            throw new ValidationException($"'{nameOrUri}' is not a {scheme} URI; write store://{scheme}/{project}/<name>[:<version-or-tag>].");
        if (uri.Project != project)
            throw new ValidationException($"'{nameOrUri}' belongs to project '{uri.Project}', not '{project}'. Open that project to use it.");
        return (uri.Key, uri.Reference ?? versionOrTag);
    }

    /// <summary>The URI text.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"{Prefix}{Scheme}/{Project}/{Key}" + (Reference is null ? "" : ":" + Reference);
}
