using System.Text.Json.Nodes;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Transformations;

/// <summary>Checks a column against a rule; failing rows fail the ingestion, are dropped, or are counted as warnings.</summary>
public sealed class ValidateStep : BuiltInStep
{
    /// <summary>Creates the step.</summary>
    /// <param name="column">The column.</param>
    /// <param name="rule">The rule.</param>
    /// <param name="policy">What to do with failing rows.</param>
    public ValidateStep(string column, FeatureRule rule, ValidationPolicy policy = ValidationPolicy.Fail)
    {
        Throw.IfNullOrWhitespace(column);
        SourceColumn = column;
        Rule = rule ?? throw new ArgumentNullException(nameof(rule));
        Policy = policy;
    }

    /// <summary>The column.</summary>
    public string SourceColumn { get; }

    /// <summary>The rule.</summary>
    public FeatureRule Rule { get; }

    /// <summary>The policy.</summary>
    public ValidationPolicy Policy { get; }

    /// <inheritdoc/>
    public override string Kind => "validate";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [SourceColumn];

    /// <inheritdoc/>
    public override JsonObject Options
    {
        get
        {
            var o = new JsonObject { ["column"] = SourceColumn, ["policy"] = Policy.ToString() };
            Rule.WriteTo(o);
            return o;
        }
    }

    internal static ValidateStep FromOptions(JsonObject o) => new((string)o["column"]!, FeatureRule.FromOptions(o), Enum.Parse<ValidationPolicy>((string)o["policy"]!));

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var array = Column(batch, SourceColumn);
        List<int>? keep = null;
        for (var i = 0; i < array.Length; i++)
        {
            var v = Arrays.ValueAt(array, i);
            if (Rule.Passes(v))
            {
                keep?.Add(i);
                continue;
            }

            var row = FeatureStepContext.RowNumber(batch, i);
            var text = v.IsNull ? null : FeatureRule.Text(v);
            switch (Policy)
            {
                case ValidationPolicy.Fail:
                    throw new ValidationException(
                        $"Feature set '{context.FeatureSet}': column '{SourceColumn}' row {row} has value {(text is null ? "null" : $"'{text}'")}, which breaks the rule {Rule}. Fix the data, or validate with ValidationPolicy.DropRow or Warn.");
                case ValidationPolicy.DropRow:
                    keep ??= [.. Enumerable.Range(0, i)];
                    context.ReportDropped(Rule.ToString(), SourceColumn, row, text);
                    break;
                default:
                    keep?.Add(i);
                    context.ReportWarning(Rule.ToString(), SourceColumn, row, text);
                    break;
            }
        }

        return keep is null ? batch : Arrays.TakeRows(batch, keep.ToArray());
    }
}
