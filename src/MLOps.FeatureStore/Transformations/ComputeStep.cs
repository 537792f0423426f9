using System.Globalization;
using System.Text.Json.Nodes;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Transformations;

/// <summary>Adds (or replaces) a column computed by user code from each row. Registered by name (see <see cref="FeatureStepRegistry"/>).</summary>
public sealed class ComputeStep : BuiltInStep
{
    private readonly Func<FeatureRowView, object?> _compute;

    /// <summary>Creates the step.</summary>
    /// <param name="column">The output column (also the step's name).</param>
    /// <param name="type">Its type.</param>
    /// <param name="compute">The code: returns a value of the type (or null).</param>
    public ComputeStep(string column, FeatureType type, Func<FeatureRowView, object?> compute)
    {
        Throw.IfNullOrWhitespace(column);
        OutputColumn = column;
        Type = type;
        _compute = compute ?? throw new ArgumentNullException(nameof(compute));
    }

    /// <summary>The output column.</summary>
    public string OutputColumn { get; }

    /// <summary>Its type.</summary>
    public FeatureType Type { get; }

    /// <inheritdoc/>
    public override string Kind => "compute";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [];

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["name"] = OutputColumn, ["type"] = Type.ToString() };

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var view = new FeatureRowView(batch);
        var n = batch.Length;
        var valid = new bool[n];
        IArrowArray array;
        switch (Type)
        {
            case FeatureType.Double:
            {
                var v = new double[n];
                for (var i = 0; i < n; i++)
                {
                    view.Index = i;
                    v[i] = _compute(view) is { } o ? Convert.ToDouble(o, CultureInfo.InvariantCulture) : double.NaN;
                }

                array = Arrays.Doubles(v, n);
                break;
            }

            case FeatureType.Int64 or FeatureType.Timestamp:
            {
                var v = new long[n];
                for (var i = 0; i < n; i++)
                {
                    view.Index = i;
                    var o = _compute(view);
                    valid[i] = o is not null;
                    v[i] = o switch
                    {
                        null => 0,
                        DateTimeOffset d => (d.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10,
                        DateTime d => Timestamps.FromDateTime(d), // unspecified = UTC, not the machine's zone
                        _ => Convert.ToInt64(o, CultureInfo.InvariantCulture),
                    };
                }

                array = Type == FeatureType.Int64 ? Arrays.Int64s(v, valid) : Arrays.Timestamps(v, valid);
                break;
            }

            case FeatureType.Boolean:
            {
                var v = new bool[n];
                for (var i = 0; i < n; i++)
                {
                    view.Index = i;
                    var o = _compute(view);
                    valid[i] = o is not null;
                    v[i] = o is not null && Convert.ToBoolean(o, CultureInfo.InvariantCulture);
                }

                array = Arrays.Booleans(v, valid);
                break;
            }

            default:
            {
                var v = new string?[n];
                for (var i = 0; i < n; i++)
                {
                    view.Index = i;
                    v[i] = Convert.ToString(_compute(view), CultureInfo.InvariantCulture);
                }

                array = Arrays.Strings(v);
                break;
            }
        }

        return Arrays.WithColumn(batch, OutputColumn, array);
    }
}
