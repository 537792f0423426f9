using Array = System.Array;
using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Serving.Hosting;
using MLOps.Serving.Protocol;

namespace MLOps.Monitoring.Capture;

/// <summary>An inference record turned into columns: the general path of <see cref="CaptureBatch"/> for what its tensor fast path
/// does not take (rows requests, tensors of several values per row, a request that could not be parsed).</summary>
internal sealed class CapturedRecord
{
    private CapturedRecord(int rows, List<CapturedColumn> columns)
    {
        Rows = rows;
        Columns = columns;
    }

    /// <summary>The number of rows of the request.</summary>
    public int Rows { get; }

    /// <summary>The feature and output columns: float[], double[], long[], bool[], string?[], double?[] or bool?[] of <see cref="Rows"/> values.</summary>
    public List<CapturedColumn> Columns { get; }

    /// <summary>Turns a record into columns; <paramref name="inputNames"/> names the inputs of positional rows requests.</summary>
    public static CapturedRecord From(InferenceRecord record, IReadOnlyList<string> inputNames)
    {
        var columns = new List<CapturedColumn>();
        int rows = 1;
        if (record.Request is { } request)
        {
            if (request.Rows is { } rowsRequest)
            {
                rows = rowsRequest.Rows.Count;
                AddRows(columns, rowsRequest, inputNames);
            }
            else if (request.Inputs.Count > 0)
            {
                rows = RowCount(request.Inputs[0]);
                AddTensors(columns, output: false, request.Inputs, rows);
            }
        }
        if (record.Response is { } response)
            AddTensors(columns, output: true, response.Outputs, rows);
        return new CapturedRecord(rows, columns);
    }

    /// <summary>The rows of a request with this first tensor: the first dimension (1 for a scalar).</summary>
    internal static int RowCount(InferenceTensor tensor) => tensor.Shape.Length == 0 ? 1 : (int)Math.Max(0, tensor.Shape[0]);

    private static void AddTensors(List<CapturedColumn> columns, bool output, IReadOnlyList<InferenceTensor> tensors, int rows)
    {
        var prefix = output ? CaptureColumns.OutputPrefix : CaptureColumns.InputPrefix;
        foreach (var tensor in tensors)
        {
            if (RowCount(tensor) != rows || (rows == 0 ? tensor.Data.Length != 0 : tensor.Data.Length % rows != 0)) continue;
            int width = rows == 0 ? 1 : tensor.Data.Length / rows;
            var values = Values(tensor.Data);
            if (width == 1)
            {
                columns.Add(new(prefix + tensor.Name, values, tensor.Name, output));
                continue;
            }
            for (int j = 0; j < width; j++)
            {
                var column = Array.CreateInstance(values.GetType().GetElementType()!, rows);
                for (int i = 0; i < rows; i++)
                    column.SetValue(values.GetValue(i * width + j), i);
                columns.Add(new($"{prefix}{tensor.Name}[{j}]", column, null, output));
            }
        }
    }

    private static Array Values(TensorData data) => data.DataType switch
    {
        TensorDataType.Fp32 => data.AsSingles().ToArray(),
        TensorDataType.Fp16 or TensorDataType.Fp64 => data.AsDoubles().ToArray(),
        TensorDataType.Bool => data.AsBooleans().ToArray(),
        TensorDataType.Bytes => data.AsStrings().ToArray(),
        TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 or TensorDataType.UInt64 => Array.ConvertAll(data.AsUInt64().ToArray(), v => unchecked((long)v)),
        _ => data.AsInt64().ToArray(),
    };

    private static void AddRows(List<CapturedColumn> columns, RowsRequest request, IReadOnlyList<string> inputNames)
    {
        var names = new List<string>();
        foreach (var row in request.Rows)
        {
            for (int i = 0; i < row.Count; i++)
            {
                var name = row.Names is { } n ? n[i] : i < inputNames.Count ? inputNames[i] : $"input_{i}";
                if (!names.Contains(name)) names.Add(name);
            }
        }
        foreach (var name in names)
        {
            var values = new RowValue[request.Rows.Count];
            for (int r = 0; r < values.Length; r++)
                values[r] = Find(request.Rows[r], name, names.IndexOf(name));
            columns.Add(new(CaptureColumns.InputPrefix + name, RowColumn(values), null, false));
        }
    }

    private static RowValue Find(InferenceRow row, string name, int position)
    {
        if (row.IsKeyed) return row.TryGetValue(name, out var value) ? value : RowValue.Null;
        return position < row.Count ? row[position] : RowValue.Null;
    }

    private static Array RowColumn(RowValue[] values)
    {
        var kinds = values.Where(v => !v.IsNull).Select(v => v.Kind).Distinct().ToList();
        if (kinds is [RowValueKind.Number])
            return Array.ConvertAll(values, v => v.IsNull ? (double?)null : v.Number);
        if (kinds is [RowValueKind.Boolean])
            return Array.ConvertAll(values, v => v.IsNull ? (bool?)null : v.Boolean);
        return Array.ConvertAll(values, v => v.IsNull ? null : v.Kind == RowValueKind.String ? v.String : v.ToString());
    }

    /// <summary>Builds the request columns (<see cref="HeaderFields"/>) row by row.</summary>
    internal sealed class HeaderBuilder(int length)
    {
        private readonly StringArray.Builder _ids = new StringArray.Builder().Reserve(length);
        private readonly Int32Array.Builder _rows = new Int32Array.Builder().Reserve(length);
        private readonly TimestampArray.Builder _times = new TimestampArray.Builder(TimeType).Reserve(length);
        private readonly DoubleArray.Builder _latency = new DoubleArray.Builder().Reserve(length);
        private readonly Int32Array.Builder _status = new Int32Array.Builder().Reserve(length);
        private readonly StringArray.Builder _errors = new StringArray.Builder().Reserve(length);

        public void Append(string requestId, int row, DateTimeOffset time, double? latencyMs, int status, string? error)
        {
            _ids.Append(requestId);
            _rows.Append(row);
            _times.Append(time);
            _latency.Append(latencyMs);
            _status.Append(status);
            if (error is null) _errors.AppendNull(); else _errors.Append(error);
        }

        public List<IArrowArray> Build() => [_ids.Build(), _rows.Build(), _times.Build(), _latency.Build(), _status.Build(), _errors.Build()];
    }

    internal static readonly TimestampType TimeType = new(TimeUnit.Microsecond, "UTC");

    internal static readonly Field[] HeaderFields =
    [
        new(CaptureColumns.RequestId, StringType.Default, nullable: false),
        new(CaptureColumns.Row, Int32Type.Default, nullable: false),
        new(CaptureColumns.Time, TimeType, nullable: false),
        new(CaptureColumns.LatencyMs, DoubleType.Default, nullable: true),
        new(CaptureColumns.StatusCode, Int32Type.Default, nullable: false),
        new(CaptureColumns.Error, StringType.Default, nullable: true),
    ];
}

/// <summary>A feature or output column of a <see cref="CapturedRecord"/>.</summary>
/// <param name="Name">The stored column name (<c>input.distance</c>, <c>output.Score</c>, <c>input.x[0]</c>).</param>
/// <param name="Values">The values, one per row.</param>
/// <param name="Tensor">The name of the tensor it holds whole (one value per row), else <see langword="null"/>.</param>
/// <param name="Output">Whether it comes from the response.</param>
internal readonly record struct CapturedColumn(string Name, Array Values, string? Tensor, bool Output);
