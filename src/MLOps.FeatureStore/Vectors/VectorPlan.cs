using MLOps.FeatureStore.FeatureSets;

namespace MLOps.FeatureStore.Vectors;

/// <summary>A feature vector resolved against the stored feature sets: which sets to join, in which order, on which keys.</summary>
internal sealed class VectorPlan
{
    private VectorPlan(FeatureVector vector, IReadOnlyList<SetPlan> sets, IReadOnlyList<OutputColumn> outputs, IReadOnlyList<FeatureColumn> requestKeys)
    {
        Vector = vector;
        Sets = sets;
        Outputs = outputs;
        RequestKeys = requestKeys;
    }

    public FeatureVector Vector { get; }

    /// <summary>The sets in join order; the first is the primary set.</summary>
    public IReadOnlyList<SetPlan> Sets { get; }

    /// <summary>The output feature columns in order (the label last).</summary>
    public IReadOnlyList<OutputColumn> Outputs { get; }

    /// <summary>The entity columns a request provides (the primary set's entities, then entities of other sets joined on shared keys).</summary>
    public IReadOnlyList<FeatureColumn> RequestKeys { get; }

    public static async Task<VectorPlan> ResolveAsync(FeatureSets.CatalogRecords catalog, FeatureVector vector, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var names = vector.Features.Select(f => f.FeatureSet)
            .Concat(vector.Label is null ? [] : [vector.Label.FeatureSet])
            .Concat(vector.Relations.SelectMany(r => new[] { r.FromSet, r.ToSet }))
            .Distinct(StringComparer.Ordinal).ToArray();
        var known = (await catalog.ListFeatureSetsAsync(cancellationToken).ConfigureAwait(false)).Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var sets = new Dictionary<string, FeatureSet>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (!known.Contains(name))
            {
                problems.Add($"feature set '{name}' does not exist; known feature sets: {(known.Count == 0 ? "none" : string.Join(", ", known.Order(StringComparer.Ordinal)))}.");
                continue;
            }

            // the keys and schema are enough: a serving process need not have the sets' user code
            var set = await catalog.FindAsync(name, "latest", cancellationToken, withSteps: false).ConfigureAwait(false)
                ?? throw new NotFoundException("feature set", name, $"The feature set '{name}' was deleted while the vector was resolved.");
            if (set.Schema is null) problems.Add($"feature set '{name}' has never been ingested, so its features are unknown; ingest it first.");
            else sets[name] = set;
        }

        if (problems.Count > 0) throw new ValidationException($"The feature vector '{vector.Name}' cannot be resolved", problems);

        // outputs
        var outputs = new List<(string Set, FeatureColumn Column, string Name, bool IsLabel)>();
        foreach (var f in vector.Features)
        {
            var set = sets[f.FeatureSet];
            if (f.Feature == "*")
            {
                foreach (var c in set.Features) outputs.Add((set.Name, c, c.Name, false));
                continue;
            }

            var column = set.Schema!.FirstOrDefault(c => c.Name == f.Feature);
            if (column is null || column.Name == set.LabelColumn)
                problems.Add($"unknown feature '{f.Feature}' in feature set '{set.Name}' (in '{f}'); its features are: {string.Join(", ", set.Features.Select(c => c.Name))}.");
            else outputs.Add((set.Name, column, f.Alias ?? f.Feature, false));
        }

        if (vector.Label is { } label)
        {
            var set = sets[label.FeatureSet];
            var column = set.Schema!.FirstOrDefault(c => c.Name == label.Feature);
            if (column is null) problems.Add($"unknown label column '{label.Feature}' in feature set '{set.Name}'; its columns are: {string.Join(", ", set.Schema!.Select(c => c.Name))}.");
            else outputs.Add((set.Name, column, label.Alias ?? label.Feature, true));
        }

        var primary = sets[vector.PrimarySet];
        var requestKeys = primary.Entities.Select(e => primary.Schema!.First(c => c.Name == e)).ToList();
        var reserved = new HashSet<string>(requestKeys.Select(k => k.Name), StringComparer.Ordinal);
        if (primary.TimestampColumn is { } ts) reserved.Add(ts);
        foreach (var g in outputs.GroupBy(o => o.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add($"the output name '{g.Key}' is used by {string.Join(" and ", g.Select(o => $"{o.Set}.{o.Column.Name}"))}; give one of them an alias ('set.feature as other_name').");

        // join order and key sources
        var plans = new List<SetPlan> { new(primary, primary.Entities.Select(e => KeySource.FromRequest(e)).ToArray()) };
        var pending = sets.Values.Where(s => s.Name != primary.Name && outputs.Any(o => o.Set == s.Name || vector.Relations.Any(r => r.FromSet == s.Name))).ToList();
        foreach (var relation in vector.Relations)
        {
            if (sets.TryGetValue(relation.FromSet, out var from) && !from.Schema!.Any(c => c.Name == relation.Column))
                problems.Add($"relation '{relation.FromSet}.{relation.Column}' -> '{relation.ToSet}': '{relation.Column}' is not a column of '{relation.FromSet}'; its columns are: {string.Join(", ", from.Schema!.Select(c => c.Name))}.");
            if (sets.TryGetValue(relation.ToSet, out var to) && to.Entities.Count != 1)
                problems.Add($"relation to '{relation.ToSet}': it has {to.Entities.Count} entity columns; a relation can only point at a set with one.");
        }

        if (problems.Count > 0) throw new ValidationException($"The feature vector '{vector.Name}' is invalid", problems);

        while (pending.Count > 0)
        {
            var progressed = false;
            foreach (var set in pending.ToArray())
            {
                var relation = vector.Relations.FirstOrDefault(r => r.ToSet == set.Name);
                if (relation is not null)
                {
                    var source = plans.FirstOrDefault(p => p.Set.Name == relation.FromSet);
                    if (source is null) continue;
                    var key = source.Set.Entities.Contains(relation.Column, StringComparer.Ordinal) && source.Keys[source.Set.Entities.ToList().IndexOf(relation.Column)] is { } k
                        ? k
                        : KeySource.FromSet(source, relation.Column);
                    plans.Add(new SetPlan(set, [key]));
                }
                else
                {
                    foreach (var e in set.Entities.Where(e => !reserved.Contains(e)))
                    {
                        requestKeys.Add(set.Schema!.First(c => c.Name == e));
                        reserved.Add(e);
                    }

                    plans.Add(new SetPlan(set, set.Entities.Select(e => KeySource.FromRequest(e)).ToArray()));
                }

                pending.Remove(set);
                progressed = true;
            }

            if (!progressed)
                throw new ValidationException($"The feature vector '{vector.Name}' is invalid",
                    pending.Select(s => $"feature set '{s.Name}' cannot be joined: its relation starts from a set that is not in the vector. Select a feature of that set or fix the relation.").ToArray());
        }

        foreach (var plan in plans)
            foreach (var key in plan.Keys.Where(k => k.Set is not null))
                key.Set!.Reads.Add(key.Column);
        var outputColumns = new List<OutputColumn>();
        foreach (var (setName, column, name, isLabel) in outputs)
        {
            var plan = plans.First(p => p.Set.Name == setName);
            plan.Reads.Add(column.Name);
            outputColumns.Add(new OutputColumn(plan, column.Name, name, column.Type, isLabel));
        }

        return new VectorPlan(vector, plans, outputColumns, requestKeys);
    }
}

/// <summary>Where a set's entity key comes from: a request column, or a column of a set joined earlier.</summary>
internal sealed record KeySource(string Column, SetPlan? Set)
{
    public static KeySource FromRequest(string column) => new(column, null);

    public static KeySource FromSet(SetPlan set, string column) => new(column, set);
}

/// <summary>One set of a plan.</summary>
internal sealed class SetPlan(FeatureSet set, IReadOnlyList<KeySource> keys)
{
    public FeatureSet Set { get; } = set;

    /// <summary>One key source per entity column of the set.</summary>
    public IReadOnlyList<KeySource> Keys { get; } = keys;

    /// <summary>The non-key columns read from the set (outputs and relation sources), in first-use order.</summary>
    public List<string> Reads { get; } = [];
}

/// <summary>One output column.</summary>
internal sealed record OutputColumn(SetPlan Set, string Column, string Name, FeatureType Type, bool IsLabel);
