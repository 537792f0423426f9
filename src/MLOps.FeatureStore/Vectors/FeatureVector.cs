using System.Text.Json.Nodes;

namespace MLOps.FeatureStore.Vectors;

/// <summary>A selected feature: <c>set.feature</c>, <c>set.*</c> or <c>set.feature as alias</c>.</summary>
/// <param name="FeatureSet">The feature set.</param>
/// <param name="Feature">The feature, or <c>*</c> for all of the set's features.</param>
/// <param name="Alias">The output name (default: the feature name).</param>
public sealed record FeatureReference(string FeatureSet, string Feature, string? Alias)
{
    /// <summary>Parses <c>set.feature [as alias]</c>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="reference">The reference.</param>
    /// <param name="error">Why it does not parse.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(string? text, out FeatureReference reference, out string error)
    {
        reference = new("", "", null);
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "a feature reference is empty; write 'set.feature', 'set.*' or 'set.feature as alias'.";
            return false;
        }

        var parts = text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string? alias = null;
        if (parts.Length == 3 && parts[1].Equals("as", StringComparison.OrdinalIgnoreCase)) alias = parts[2];
        else if (parts.Length != 1)
        {
            error = $"'{text}' is not 'set.feature', 'set.*' or 'set.feature as alias'.";
            return false;
        }

        var dot = parts[0].IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == parts[0].Length - 1)
        {
            error = $"'{text}' does not name a feature set: write 'set.feature' (for example 'flight_delays.delay_avg_1h') or 'set.*'.";
            return false;
        }

        var feature = parts[0][(dot + 1)..];
        if (feature == "*" && alias is not null)
        {
            error = $"'{text}': 'set.*' cannot have an alias.";
            return false;
        }

        reference = new(parts[0][..dot], feature, alias);
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{FeatureSet}.{Feature}{(Alias is null ? "" : $" as {Alias}")}";
}

/// <summary>A relation: the values of <paramref name="Column"/> of <paramref name="FromSet"/> are the entity key of <paramref name="ToSet"/>.</summary>
/// <param name="FromSet">The set holding the column (or the set whose entity column it is).</param>
/// <param name="Column">The column, such as <c>origin</c>.</param>
/// <param name="ToSet">The related set, such as <c>airports</c> (with one entity column, such as <c>iata</c>).</param>
public sealed record FeatureRelation(string FromSet, string Column, string ToSet);

/// <summary>
/// A feature vector: features selected from one or more feature sets, joined on shared entities or declared relations,
/// plus an optional label. The first selected set is the primary one: its entities and timestamp are the keys of
/// training-set requests and online lookups. Build it with <c>project.FeatureStore.Vector("name")</c>.
/// </summary>
public sealed class FeatureVector
{
    internal FeatureVector(string name, IReadOnlyList<FeatureReference> features, FeatureReference? label, IReadOnlyList<FeatureRelation> relations, string? description)
    {
        Name = name;
        Features = features;
        Label = label;
        Relations = relations;
        Description = description;
    }

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>The selected features, in order.</summary>
    public IReadOnlyList<FeatureReference> Features { get; }

    /// <summary>The label, or <see langword="null"/>.</summary>
    public FeatureReference? Label { get; }

    /// <summary>Declared relations between sets.</summary>
    public IReadOnlyList<FeatureRelation> Relations { get; }

    /// <summary>The description.</summary>
    public string? Description { get; }

    /// <summary>The stored version, once saved.</summary>
    public int? Version { get; internal set; }

    /// <summary>The store URI of the stored version (<c>store://feature-vectors/&lt;project&gt;/&lt;name&gt;:&lt;version&gt;</c>), once saved.</summary>
    /// <param name="project">The project.</param>
    /// <returns>The URI.</returns>
    public string Uri(string project) => $"store://feature-vectors/{project}/{Name}:{(Version is { } v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "latest")}";

    /// <summary>The primary feature set (of the first selected feature).</summary>
    public string PrimarySet => Features[0].FeatureSet;

    internal string ToJson() => new JsonObject
    {
        ["name"] = Name,
        ["features"] = new JsonArray(Features.Select(f => (JsonNode?)f.ToString()).ToArray()),
        ["label"] = Label?.ToString(),
        ["relations"] = new JsonArray(Relations.Select(r => (JsonNode?)new JsonObject { ["from"] = r.FromSet, ["column"] = r.Column, ["to"] = r.ToSet }).ToArray()),
    }.ToJsonString();

    internal static FeatureVector FromJson(string json, string? description, int version)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        FeatureReference Parse(string s) => FeatureReference.TryParse(s, out var r, out var e) ? r : throw new InvalidStateException($"Stored feature vector has a bad reference: {e}");
        return new FeatureVector(
            (string)o["name"]!,
            ((JsonArray)o["features"]!).Select(n => Parse((string)n!)).ToArray(),
            (string?)o["label"] is { } l ? Parse(l) : null,
            ((JsonArray)o["relations"]!).Select(n => new FeatureRelation((string)n!["from"]!, (string)n["column"]!, (string)n["to"]!)).ToArray(),
            description) { Version = version };
    }

    /// <inheritdoc/>
    public override string ToString() => $"feature vector {Name}: {string.Join(", ", Features)}{(Label is null ? "" : $"; label {Label}")}";
}

/// <summary>Defines a feature vector fluently; <see cref="Build"/> checks the syntax and lists every problem at once.</summary>
/// <example>
/// <code>
/// var vector = await project.FeatureStore.Vector("delay_model")
///     .Select("flight_delays.*", "airports.state as origin_state")
///     .Relation("flight_delays.origin", "airports")
///     .Label("flight_delays.is_delayed")
///     .SaveAsync();
/// </code>
/// </example>
public sealed class FeatureVectorBuilder
{
    private readonly FeatureStoreCatalog? _catalog;
    private readonly string _name;
    private readonly List<string> _features = [];
    private readonly List<(string From, string To)> _relations = [];
    private string? _label;
    private string? _description;

    internal FeatureVectorBuilder(FeatureStoreCatalog? catalog, string name)
    {
        _catalog = catalog;
        _name = name;
    }

    /// <summary>Selects features: <c>set.feature</c>, <c>set.*</c>, <c>set.feature as alias</c>.</summary>
    /// <param name="features">The references.</param>
    /// <returns>This builder.</returns>
    public FeatureVectorBuilder Select(params string[] features)
    {
        _features.AddRange(features ?? []);
        return this;
    }

    /// <summary>Sets the label: <c>set.column [as alias]</c>.</summary>
    /// <param name="label">The reference.</param>
    /// <returns>This builder.</returns>
    public FeatureVectorBuilder Label(string label)
    {
        _label = label;
        return this;
    }

    /// <summary>Declares that a column of one set holds the entity key of another: <c>Relation("flight_delays.origin", "airports")</c>.</summary>
    /// <param name="column">The column, <c>set.column</c>.</param>
    /// <param name="relatedSet">The related set (its single entity column is matched).</param>
    /// <returns>This builder.</returns>
    public FeatureVectorBuilder Relation(string column, string relatedSet)
    {
        _relations.Add((column, relatedSet));
        return this;
    }

    /// <summary>Sets the description.</summary>
    /// <param name="description">The description.</param>
    /// <returns>This builder.</returns>
    public FeatureVectorBuilder Describe(string description)
    {
        _description = description;
        return this;
    }

    /// <summary>Checks the syntax and returns the vector (feature names are checked against the stored sets when it is saved or used).</summary>
    /// <returns>The vector.</returns>
    /// <exception cref="ValidationException">Every problem found.</exception>
    public FeatureVector Build()
    {
        var problems = new List<string>();
        try
        {
            Names.Name(_name, "feature vector name");
        }
        catch (ValidationException e)
        {
            problems.Add(e.Message);
        }

        if (_features.Count == 0) problems.Add("select at least one feature: .Select(\"set.feature\") or .Select(\"set.*\").");
        var features = new List<FeatureReference>();
        foreach (var f in _features)
        {
            if (FeatureReference.TryParse(f, out var r, out var error)) features.Add(r);
            else problems.Add(error);
        }

        FeatureReference? label = null;
        if (_label is not null)
        {
            if (FeatureReference.TryParse(_label, out var r, out var error) && r.Feature != "*") label = r;
            else problems.Add($"label: {(error.Length > 0 ? error : "'set.*' cannot be a label")}");
        }

        var relations = new List<FeatureRelation>();
        foreach (var (from, to) in _relations)
        {
            var dot = from.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || dot == from.Length - 1 || string.IsNullOrWhiteSpace(to))
                problems.Add($"relation '{from}' -> '{to}': write Relation(\"set.column\", \"related_set\").");
            else relations.Add(new FeatureRelation(from[..dot], from[(dot + 1)..], to.Split('.')[0]));
        }

        if (problems.Count > 0) throw new ValidationException($"The feature vector '{_name}' is invalid", problems);
        return new FeatureVector(_name, features, label, relations, _description);
    }

    /// <summary>Builds, checks the features against the stored feature sets, and saves the vector (a new version when it changed).</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored vector.</returns>
    /// <exception cref="ValidationException">Bad syntax, an unknown feature set or feature, a duplicate output name, a set that cannot be joined.</exception>
    public Task<FeatureVector> SaveAsync(CancellationToken cancellationToken = default)
        => (_catalog ?? throw new InvalidStateException("This builder is not attached to a project.")).SaveAsync(Build(), cancellationToken);
}
