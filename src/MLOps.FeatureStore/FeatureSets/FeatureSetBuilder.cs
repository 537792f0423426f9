using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.FeatureSets;

/// <summary>
/// Defines a feature set fluently. <see cref="Build"/> checks the whole definition and lists every problem at once;
/// <see cref="SaveAsync"/> builds and stores it as a new version when it changed.
/// </summary>
/// <example>
/// <code>
/// var delays = await project.FeatureStore.FeatureSet("flight_delays")
///     .Entity("origin").Timestamp("date")
///     .Impute("distance", ImputeStrategy.Mean)
///     .Aggregate("delay", AggregationOp.Avg | AggregationOp.Max | AggregationOp.Count, "1h", "1d")
///     .SaveAsync();
/// </code>
/// </example>
public sealed class FeatureSetBuilder
{
    private readonly FeatureStoreCatalog? _catalog;
    private readonly string _name;
    private readonly List<string> _entities = [];
    private readonly List<FeatureColumn> _declared = [];
    private readonly List<IFeatureStep> _steps = [];
    private readonly List<(string Column, AggregationOp Ops, string[] Windows)> _aggregations = [];
    private readonly Dictionary<string, string> _labels = new(StringComparer.Ordinal);
    private readonly List<string> _problems = [];
    private string? _timestamp;
    private string? _timestampFormat;
    private string? _label;
    private string? _description;
    private PartitionGranularity _partitioning = PartitionGranularity.Day;
    private TimeSpan? _ttl;
    private bool _offline = true;
    private bool _online = true;

    internal FeatureSetBuilder(FeatureStoreCatalog? catalog, string name)
    {
        _catalog = catalog;
        _name = name;
    }

    /// <summary>Adds entity (key) columns; a set has at least one.</summary>
    /// <param name="columns">The columns.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Entity(params string[] columns)
    {
        _entities.AddRange(columns ?? []);
        return this;
    }

    /// <summary>Sets the event-time column.</summary>
    /// <param name="column">The column.</param>
    /// <param name="format">The exact .NET format of text values (default: ISO 8601 or <c>yyyy/MM/dd HH:mm[:ss]</c>, UTC).</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Timestamp(string column, string? format = null)
    {
        _timestamp = column;
        _timestampFormat = format;
        return this;
    }

    /// <summary>Marks a label column (kept offline for training sets, not served online).</summary>
    /// <param name="column">The column.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Label(string column)
    {
        _label = column;
        return this;
    }

    /// <summary>Declares a feature with its type; a source value of another type is converted or rejected. Undeclared columns are inferred.</summary>
    /// <param name="column">The column.</param>
    /// <param name="type">The type.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Feature(string column, FeatureType type)
    {
        _declared.Add(new FeatureColumn(column, type));
        return this;
    }

    /// <summary>Sets the description.</summary>
    /// <param name="description">The description.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Describe(string description)
    {
        _description = description;
        return this;
    }

    /// <summary>Adds a label (metadata).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder WithLabel(string key, string value)
    {
        _labels[key] = value;
        return this;
    }

    /// <summary>Adds a custom (or built-in) step.</summary>
    /// <param name="step">The step.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Step(IFeatureStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        _steps.Add(step);
        return this;
    }

    private FeatureSetBuilder TryStep(Func<IFeatureStep> create)
    {
        try
        {
            _steps.Add(create());
        }
        catch (ValidationException e)
        {
            _problems.AddRange(e.Errors);
        }
        catch (ArgumentException e)
        {
            _problems.Add(e.Message);
        }

        return this;
    }

    /// <summary>Fills nulls (see <see cref="ImputeStep"/>).</summary>
    /// <param name="column">The column.</param>
    /// <param name="strategy">The strategy.</param>
    /// <param name="constant">The constant for <see cref="ImputeStrategy.Constant"/>.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Impute(string column, ImputeStrategy strategy, object? constant = null) => TryStep(() => new ImputeStep(column, strategy, constant));

    /// <summary>Maps values through a dictionary and/or ranges (see <see cref="MapValuesStep"/>).</summary>
    /// <param name="column">The column.</param>
    /// <param name="map">Value → new value.</param>
    /// <param name="ranges">Numeric ranges.</param>
    /// <param name="output">The output column (default: replace).</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder MapValues(string column, IReadOnlyDictionary<string, object>? map = null, IReadOnlyList<ValueRange>? ranges = null, string? output = null)
        => TryStep(() => new MapValuesStep(column, map, ranges, output));

    /// <summary>One-hot encodes over known categories (see <see cref="OneHotStep"/>).</summary>
    /// <param name="column">The column.</param>
    /// <param name="categories">The categories.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder OneHot(string column, params string[] categories) => TryStep(() => new OneHotStep(column, categories));

    /// <summary>Adds date-part columns (see <see cref="DatePartsStep"/>).</summary>
    /// <param name="column">The timestamp column.</param>
    /// <param name="parts">The parts.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder DateParts(string column, DateParts parts) => TryStep(() => new DatePartsStep(column, parts));

    /// <summary>Removes columns.</summary>
    /// <param name="columns">The columns.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Drop(params string[] columns) => TryStep(() => new DropColumnsStep(columns));

    /// <summary>Keeps the rows for which <paramref name="predicate"/> is true.</summary>
    /// <param name="name">The filter's name (stored in the spec).</param>
    /// <param name="predicate">The predicate.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Filter(string name, Func<FeatureRowView, bool> predicate) => TryStep(() => new FilterStep(name, predicate));

    /// <summary>Adds a column computed from each row by user code.</summary>
    /// <param name="column">The new column.</param>
    /// <param name="type">Its type.</param>
    /// <param name="compute">The code.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Compute(string column, FeatureType type, Func<FeatureRowView, object?> compute) => TryStep(() => new ComputeStep(column, type, compute));

    /// <summary>Adds a <c>double</c> column computed from each row by user code.</summary>
    /// <param name="column">The new column.</param>
    /// <param name="compute">The code.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Compute(string column, Func<FeatureRowView, double> compute)
    {
        ArgumentNullException.ThrowIfNull(compute);
        return Compute(column, FeatureType.Double, r => compute(r));
    }

    /// <summary>Adds a <c>bool</c> column computed from each row by user code.</summary>
    /// <param name="column">The new column.</param>
    /// <param name="compute">The code.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Compute(string column, Func<FeatureRowView, bool> compute)
    {
        ArgumentNullException.ThrowIfNull(compute);
        return Compute(column, FeatureType.Boolean, r => compute(r));
    }

    /// <summary>Validates a column (see <see cref="ValidateStep"/>).</summary>
    /// <param name="column">The column.</param>
    /// <param name="rule">The rule.</param>
    /// <param name="policy">What to do with failing rows.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Validate(string column, FeatureRule rule, ValidationPolicy policy = ValidationPolicy.Fail) => TryStep(() => new ValidateStep(column, rule, policy));

    /// <summary>Adds sliding-window aggregations of a numeric column per entity: features <c>{column}_{op}_{window}</c>.</summary>
    /// <param name="column">The column.</param>
    /// <param name="ops">The operations.</param>
    /// <param name="windows">The windows, <c>&lt;n&gt;&lt;s|m|h|d&gt;</c>.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Aggregate(string column, AggregationOp ops, params string[] windows)
    {
        _aggregations.Add((column, ops, windows ?? []));
        return this;
    }

    /// <summary>Sets the offline partitioning (default: by day).</summary>
    /// <param name="granularity">The granularity.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder PartitionBy(PartitionGranularity granularity)
    {
        _partitioning = granularity;
        return this;
    }

    /// <summary>Sets how long online values stay valid after their event time.</summary>
    /// <param name="ttl">The time to live.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder OnlineTtl(TimeSpan ttl)
    {
        _ttl = ttl;
        return this;
    }

    /// <summary>Chooses the targets (both by default).</summary>
    /// <param name="offline">Write Parquet files.</param>
    /// <param name="online">Write the online store.</param>
    /// <returns>This builder.</returns>
    public FeatureSetBuilder Targets(bool offline = true, bool online = true)
    {
        _offline = offline;
        _online = online;
        return this;
    }

    /// <summary>Checks the definition and returns the feature set.</summary>
    /// <returns>The feature set.</returns>
    /// <exception cref="ValidationException">Every problem found, at once.</exception>
    public FeatureSet Build()
    {
        var problems = new List<string>(_problems);
        try
        {
            Names.Name(_name, "feature set name");
        }
        catch (ValidationException e)
        {
            problems.Add(e.Message);
        }

        if (_entities.Count == 0)
            problems.Add("entities: a feature set needs at least one entity (key) column; call .Entity(\"column\").");
        foreach (var e in _entities.GroupBy(e => e, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add($"entity '{e.Key}' is given twice.");
        if (_timestamp is not null && _entities.Contains(_timestamp, StringComparer.Ordinal))
            problems.Add($"timestamp '{_timestamp}' is also an entity column.");
        if (_label is not null && (_entities.Contains(_label, StringComparer.Ordinal) || _label == _timestamp))
            problems.Add($"label '{_label}' is also an entity or the timestamp column.");
        if (_ttl is { } ttl && ttl <= TimeSpan.Zero)
            problems.Add($"online TTL {ttl} must be positive.");
        foreach (var d in _declared.GroupBy(d => d.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add($"feature '{d.Key}' is declared twice.");

        var aggregations = new List<AggregationSpec>();
        foreach (var (column, ops, windows) in _aggregations)
        {
            if (_timestamp is null)
                problems.Add($"aggregation of '{column}' needs a timestamp column; call .Timestamp(\"column\").");
            if (ops == AggregationOp.None)
                problems.Add($"aggregation of '{column}' has no operation; combine AggregationOp values with |.");
            if (windows.Length == 0)
                problems.Add($"aggregation of '{column}' has no window; pass windows such as \"1h\", \"1d\".");
            var parsed = new List<FeatureWindow>();
            foreach (var w in windows)
            {
                if (FeatureWindow.TryParse(w, out var window)) parsed.Add(window);
                else problems.Add($"aggregation of '{column}': window '{w}' is not <n><s|m|h|d>; write e.g. 30s, 10m, 1h or 1d.");
            }

            aggregations.Add(new AggregationSpec(column, ops, parsed));
        }

        foreach (var g in aggregations.SelectMany(a => a.Outputs()).GroupBy(o => o.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add($"aggregation feature '{g.Key}' is produced twice.");

        if (problems.Count > 0)
            throw new ValidationException($"The feature set '{_name}' is invalid", problems);

        var set = new FeatureSet(_name, _entities.ToArray(), _timestamp, _timestampFormat, _label, _declared.ToArray(), _steps.ToArray(), aggregations,
            _partitioning, _ttl, _offline, _online, _description, new Dictionary<string, string>(_labels, StringComparer.Ordinal));
        if (_catalog is not null)
            foreach (var step in _steps.Where(s => s.Kind is "compute" or "filter"))
                _catalog.Steps.RegisterCode(_name, step);
        return set;
    }

    /// <summary>Builds the feature set and saves it (a new version when the definition changed).</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored feature set.</returns>
    /// <exception cref="ValidationException">The definition is invalid, or incompatible with the stored schema (a type change).</exception>
    public Task<FeatureSet> SaveAsync(CancellationToken cancellationToken = default)
    {
        var set = Build();
        return (_catalog ?? throw new InvalidStateException("This builder is not attached to a project; use project.FeatureStore.FeatureSet(name).")).SaveAsync(set, cancellationToken);
    }
}
