using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;
using MLOps.Monitoring.GroundTruth;

namespace MLOps.Monitoring;

public sealed partial class MonitoringCatalog
{
    /// <summary>The column of the ground-truth label written by the typed overload of <c>LogGroundTruthAsync</c>.</summary>
    public const string GroundTruthLabelColumn = "label";

    /// <summary>The column added to stored ground truth: when the label was logged (timestamp, microseconds, UTC).</summary>
    public const string GroundTruthLoggedAtColumn = GroundTruthFiles.LoggedAt;

    private static readonly TimestampType LoggedAtType = new(TimeUnit.Microsecond, "UTC");

    /// <summary>
    /// Logs ground truth for requests an endpoint served: one row per labelled row, keyed by <c>request_id</c> (string) and
    /// optionally <c>row</c> (int32 or int64, the row's index within its request; 0 when the column is absent), with one or more
    /// label columns (bool, integers, float, double or string, without nulls). Stored beside the captured data as one Parquet
    /// file per call, <c>{CaptureRoot}/{endpoint id}/ground-truth/{sequence}-{time}.parquet</c>, with a <c>logged_at</c> column.
    /// </summary>
    /// <remarks>
    /// <para>Every key is looked up in the endpoint's captured data (from <see cref="GroundTruthOptions.CapturedFrom"/>).
    /// Keys that match no captured row are rejected by default (<see cref="UnmatchedGroundTruthException"/>, nothing stored);
    /// with <see cref="UnmatchedGroundTruth.Store"/> they are stored and returned in <see cref="GroundTruthLogResult.Unmatched"/>.</para>
    /// <para>A row labelled again (in a later call, or later in the same batch) takes the later label: analyses join each captured
    /// row with its latest label per label column.</para>
    /// </remarks>
    /// <param name="endpointId">The endpoint's id.</param>
    /// <param name="labels">The labels.</param>
    /// <param name="options">The options (default: reject unmatched keys).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>What was stored.</returns>
    /// <exception cref="NotFoundException">No endpoint of this project has the id.</exception>
    /// <exception cref="UnmatchedGroundTruthException">A key matches no captured row and unmatched keys are rejected.</exception>
    /// <exception cref="ValidationException">The batch has no row, no <c>request_id</c> string column, no label column, a null or
    /// empty id, a negative row, a null label, a column of an unsupported type, or a column named <c>logged_at</c>.</exception>
    public async Task<GroundTruthLogResult> LogGroundTruthAsync(string endpointId, RecordBatch labels, GroundTruthOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labels);
        options ??= new GroundTruthOptions();
        options.Validate();
        var endpoint = await GetEndpointAsync(endpointId, cancellationToken).ConfigureAwait(false);
        var keys = GroundTruthKeys(labels);
        var unmatched = await UnmatchedAsync(endpoint, keys, options.CapturedFrom, cancellationToken).ConfigureAwait(false);
        if (unmatched.Count > 0 && options.Unmatched == UnmatchedGroundTruth.Reject)
        {
            GroundTruthLog.RejectedUnmatched(_logger, endpoint.Name, endpoint.Id, unmatched.Count, keys.Length);
            throw new UnmatchedGroundTruthException(endpoint.Id, unmatched,
                $"LogGroundTruthAsync: {unmatched.Count} of {keys.Length} labelled rows match no captured row of model endpoint '{endpoint.Name}' ({endpoint.Id}): " +
                $"{Names.ListSome(unmatched.Select(k => k.ToString()), max: 5)}; nothing was stored. Check the request ids and rows (a label of row r of " +
                "request id is written 'id#r'), flush the capture first (CaptureSession.FlushAsync) when the requests were just served, or pass " +
                "GroundTruthOptions { Unmatched = UnmatchedGroundTruth.Store } to keep labels of requests captured later.");
        }
        var at = Project.TimeProvider.GetUtcNow();
        var path = await GroundTruthFiles.WriteAsync(CaptureRoot, endpoint.Id, StoredGroundTruth(labels, keys, at), cancellationToken).ConfigureAwait(false);
        GroundTruthLog.Logged(_logger, endpoint.Name, endpoint.Id, keys.Length, keys.Length - unmatched.Count);
        if (unmatched.Count > 0)
            GroundTruthLog.StoredUnmatched(_logger, endpoint.Name, endpoint.Id, unmatched.Count, Names.ListSome(unmatched.Select(k => k.ToString()), max: 5));
        return new GroundTruthLogResult(endpoint.Id, keys.Length, keys.Length - unmatched.Count, unmatched, path);
    }

    /// <summary>
    /// Logs one label per request id (or per row of a request when <paramref name="rows"/> is given), in a column named
    /// <see cref="GroundTruthLabelColumn"/>; see <see cref="LogGroundTruthAsync(string, RecordBatch, GroundTruthOptions?, CancellationToken)"/>
    /// for the storage, unmatched ids and repeated labels. For other column names or several label columns, log a batch.
    /// </summary>
    /// <typeparam name="TLabel">The label type: <see cref="bool"/>, <see cref="int"/>, <see cref="long"/>, <see cref="float"/>,
    /// <see cref="double"/> or <see cref="string"/>.</typeparam>
    /// <param name="endpointId">The endpoint's id.</param>
    /// <param name="requestIds">The request ids.</param>
    /// <param name="labels">The labels, one per request id.</param>
    /// <param name="rows">The rows within the requests, one per request id; <see langword="null"/> for row 0 of each.</param>
    /// <param name="options">The options (default: reject unmatched keys).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>What was stored.</returns>
    /// <exception cref="NotFoundException">No endpoint of this project has the id.</exception>
    /// <exception cref="UnmatchedGroundTruthException">A key matches no captured row and unmatched keys are rejected.</exception>
    /// <exception cref="ValidationException">The lists have different lengths or are empty, an id is empty, a label is null, or
    /// <typeparamref name="TLabel"/> is not supported.</exception>
    public Task<GroundTruthLogResult> LogGroundTruthAsync<TLabel>(string endpointId, IReadOnlyList<string> requestIds, IReadOnlyList<TLabel> labels, IReadOnlyList<int>? rows = null, GroundTruthOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count != requestIds.Count || (rows is not null && rows.Count != requestIds.Count))
            throw new ValidationException($"LogGroundTruthAsync: {requestIds.Count} request ids, {labels.Count} labels and {(rows is null ? "no" : rows.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))} rows; pass one label (and one row, if any) per request id, in the same order.");
        var ids = new StringArray.Builder();
        foreach (var id in requestIds) ids.Append(id);
        var builder = new RecordBatch.Builder().Append(CaptureColumns.RequestId, false, ids.Build());
        if (rows is not null) builder.Append(CaptureColumns.Row, false, c => c.Int32(a => a.AppendRange(rows)));
        return LogGroundTruthAsync(endpointId, builder.Append(GroundTruthLabelColumn, false, LabelArray(labels)).Build(), options, cancellationToken);
    }

    /// <summary>Reads the ground truth logged for an endpoint of this project, file by file in logging order (a row labelled twice
    /// appears twice; the later label is the one analyses use). Columns: <c>request_id</c>, <c>row</c>, <c>logged_at</c>, then the
    /// label columns as logged.</summary>
    /// <param name="endpointId">The endpoint's id.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The batches.</returns>
    /// <exception cref="NotFoundException">No endpoint of this project has the id.</exception>
    public async IAsyncEnumerable<RecordBatch> ReadGroundTruthAsync(string endpointId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var endpoint = await GetEndpointAsync(endpointId, cancellationToken).ConfigureAwait(false);
        await foreach (var batch in GroundTruthFiles.ReadAsync(CaptureRoot, endpoint.Id, cancellationToken).ConfigureAwait(false))
            yield return batch;
    }

    /// <summary>The keys of the labelled rows, after checking the batch.</summary>
    private static GroundTruthKey[] GroundTruthKeys(RecordBatch labels)
    {
        const string fix = "Pass a batch with a request_id string column, an optional row column (int32) and one or more label columns.";
        if (labels.Length == 0)
            throw new ValidationException($"LogGroundTruthAsync: the labels batch has no row. {fix}");
        if (labels.Schema.GetFieldIndex(CaptureColumns.RequestId) < 0 || labels.Column(CaptureColumns.RequestId) is not StringArray ids)
            throw new ValidationException($"LogGroundTruthAsync: the labels batch has no string column '{CaptureColumns.RequestId}' (columns: {Names.ListSome(labels.Schema.FieldsList.Select(f => f.Name))}). {fix}");
        IArrowArray? rows = labels.Schema.GetFieldIndex(CaptureColumns.Row) >= 0 ? labels.Column(CaptureColumns.Row) : null;
        if (rows is not null and not Int32Array and not Int64Array)
            throw new ValidationException($"LogGroundTruthAsync: column '{CaptureColumns.Row}' is {rows.Data.DataType.Name}; pass the rows within the requests as int32 (or int64), or leave the column out for row 0.");
        int labelColumns = 0;
        foreach (var field in labels.Schema.FieldsList)
        {
            if (field.Name is CaptureColumns.RequestId or CaptureColumns.Row) continue;
            if (field.Name == GroundTruthFiles.LoggedAt)
                throw new ValidationException($"LogGroundTruthAsync: the column '{GroundTruthFiles.LoggedAt}' is reserved (the time the label is logged is added to stored ground truth); rename it.");
            if (!IsLabelType(field.DataType))
                throw new ValidationException($"LogGroundTruthAsync: label column '{field.Name}' is {field.DataType.Name}; use bool, integers, float, double or string labels.");
            var column = labels.Column(field.Name);
            if (column.NullCount > 0)
                throw new ValidationException($"LogGroundTruthAsync: label column '{field.Name}' has {column.NullCount} null values (first at row {FirstNull(column)}); log only rows whose label is known.");
            labelColumns++;
        }
        if (labelColumns == 0)
            throw new ValidationException($"LogGroundTruthAsync: the labels batch has no label column besides '{CaptureColumns.RequestId}' and '{CaptureColumns.Row}'. {fix}");
        var keys = new GroundTruthKey[labels.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            var id = ids.GetString(i);
            if (string.IsNullOrEmpty(id))
                throw new ValidationException($"LogGroundTruthAsync: {CaptureColumns.RequestId} at row {i} is {Names.Describe(id)}; pass the id of the request the label belongs to (InferenceRequest.Id).");
            long row = rows switch
            {
                Int32Array a => a.IsNull(i) ? -1 : a.GetValue(i)!.Value,
                Int64Array a => a.IsNull(i) ? -1 : a.GetValue(i)!.Value,
                _ => 0,
            };
            if (row is < 0 or > int.MaxValue)
                throw new ValidationException($"LogGroundTruthAsync: {CaptureColumns.Row} at row {i} (request '{id}') is {(row < 0 && rows!.IsNull(i) ? "null" : row)}; pass the row's index within its request (0 for the first).");
            keys[i] = new GroundTruthKey(id, (int)row);
        }
        return keys;
    }

    /// <summary>The keys that match no captured row of the endpoint, in the order given.</summary>
    private async Task<List<GroundTruthKey>> UnmatchedAsync(ModelEndpoint endpoint, GroundTruthKey[] keys, DateTimeOffset? from, CancellationToken cancellationToken)
    {
        var pending = new HashSet<GroundTruthKey>(keys);
        await foreach (var batch in CaptureFiles.ReadAsync(CaptureRoot, endpoint.Id, from, null, cancellationToken, [CaptureColumns.RequestId, CaptureColumns.Row, CaptureColumns.Time]).ConfigureAwait(false))
        {
            if (batch.Column(CaptureColumns.RequestId) is not StringArray ids || batch.Column(CaptureColumns.Row) is not Int32Array rows) continue;
            for (int i = 0; i < batch.Length && pending.Count > 0; i++)
                pending.Remove(new GroundTruthKey(ids.GetString(i), rows.GetValue(i) ?? 0));
            if (pending.Count == 0) break;
        }
        var unmatched = new List<GroundTruthKey>();
        foreach (var key in keys)
            if (pending.Remove(key)) unmatched.Add(key);
        return unmatched;
    }

    /// <summary>The stored batch: request_id, row (int32), logged_at, then the label columns as given.</summary>
    private static RecordBatch StoredGroundTruth(RecordBatch labels, GroundTruthKey[] keys, DateTimeOffset at)
    {
        var rows = new Int32Array.Builder().Reserve(keys.Length);
        var times = new TimestampArray.Builder(LoggedAtType).Reserve(keys.Length);
        foreach (var key in keys)
        {
            rows.Append(key.Row);
            times.Append(at);
        }
        var fields = new List<Field>
        {
            new(CaptureColumns.RequestId, StringType.Default, nullable: false),
            new(CaptureColumns.Row, Int32Type.Default, nullable: false),
            new(GroundTruthFiles.LoggedAt, LoggedAtType, nullable: false),
        };
        var arrays = new List<IArrowArray> { labels.Column(CaptureColumns.RequestId), rows.Build(), times.Build() };
        foreach (var field in labels.Schema.FieldsList)
        {
            if (field.Name is CaptureColumns.RequestId or CaptureColumns.Row) continue;
            fields.Add(new Field(field.Name, field.DataType, nullable: false));
            arrays.Add(labels.Column(field.Name));
        }
        return new RecordBatch(new Schema(fields, null), arrays, labels.Length);
    }

    private static bool IsLabelType(IArrowType type) => type.TypeId is ArrowTypeId.Boolean or ArrowTypeId.String or ArrowTypeId.Float or ArrowTypeId.Double
        or ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64 or ArrowTypeId.UInt8 or ArrowTypeId.UInt16 or ArrowTypeId.UInt32 or ArrowTypeId.UInt64;

    private static int FirstNull(IArrowArray array)
    {
        for (int i = 0; i < array.Length; i++)
            if (array.IsNull(i)) return i;
        return -1;
    }

    private static IArrowArray LabelArray<TLabel>(IReadOnlyList<TLabel> labels)
    {
        for (int i = 0; i < labels.Count; i++)
            if (labels[i] is null)
                throw new ValidationException($"LogGroundTruthAsync: labels[{i}] is null; log only rows whose label is known.");
        return labels switch
        {
            IReadOnlyList<bool> v => new BooleanArray.Builder().AppendRange(v).Build(),
            IReadOnlyList<int> v => new Int32Array.Builder().AppendRange(v).Build(),
            IReadOnlyList<long> v => new Int64Array.Builder().AppendRange(v).Build(),
            IReadOnlyList<float> v => new FloatArray.Builder().AppendRange(v).Build(),
            IReadOnlyList<double> v => new DoubleArray.Builder().AppendRange(v).Build(),
            IReadOnlyList<string> v => new StringArray.Builder().AppendRange(v).Build(),
            _ => throw new ValidationException($"LogGroundTruthAsync: labels of type {typeof(TLabel).Name} are not supported; pass bool, int, long, float, double or string labels, or log a RecordBatch."),
        };
    }
}
