using System.Globalization;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Online;
using MLOps.FeatureStore.Vectors;
using MLOps.Serving.Graphs;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Enrichment;

/// <summary>
/// A serving-graph step that enriches an <see cref="InferenceRequest"/> with online features of a feature vector: it reads
/// the entity keys of each request row, looks the features up in one batch and appends them to the request, so the model
/// step that follows sees the keys and the features.
/// </summary>
/// <remarks>
/// <para>For a tensor request, the entity key tensors (named after <see cref="OnlineFeatureService.EntityColumns"/>, BYTES or
/// integer, one element per row) give the keys, and one tensor of shape <c>[N]</c> is appended per feature of the vector:
/// <see cref="FeatureType.Double"/> as FP64 (NaN when missing), <see cref="FeatureType.Int64"/> as INT64 (0 when missing),
/// <see cref="FeatureType.Boolean"/> as BOOL (false when missing), <see cref="FeatureType.String"/> as BYTES (empty when
/// missing) and <see cref="FeatureType.Timestamp"/> as INT64 microseconds since the Unix epoch (0 when missing).</para>
/// <para>For a request of rows keyed by feature name, each row gets the feature values (JSON null when missing).</para>
/// <para>In both cases a feature the request already carries (an input or a row value of the same name) is left as the
/// caller sent it.</para>
/// </remarks>
public sealed class FeatureEnrichmentStep : IServingStep, IServingStepLifetime, IAsyncDisposable
{
    private readonly FeatureStoreCatalog _featureStore;
    private readonly string _vector;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile OnlineFeatureService? _service;
    private bool _disposed;

    /// <summary>Creates the step; the online service is opened by <see cref="InitializeAsync"/> (or on the first event).</summary>
    /// <param name="featureStore">The feature store of the project that holds the vector.</param>
    /// <param name="vectorNameOrUri">The feature vector's name (its latest version) or URI.</param>
    /// <param name="name">The step's name.</param>
    public FeatureEnrichmentStep(FeatureStoreCatalog featureStore, string vectorNameOrUri, string name = "enrich")
    {
        ArgumentNullException.ThrowIfNull(featureStore);
        Throw.IfNullOrWhitespace(vectorNameOrUri);
        Throw.IfNullOrWhitespace(name);
        _featureStore = featureStore;
        _vector = vectorNameOrUri;
        Name = name;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The feature vector's name or URI.</summary>
    public string Vector => _vector;

    /// <summary>The entity columns a request must carry; empty until the step is initialized.</summary>
    public IReadOnlyList<string> EntityColumns => _service?.EntityColumns ?? [];

    /// <summary>The features the step adds; empty until the step is initialized.</summary>
    public IReadOnlyList<FeatureColumn> Features => _service?.Columns ?? [];

    /// <summary>Opens the vector's online feature service.</summary>
    /// <param name="cancellationToken">Cancels the initialization.</param>
    /// <returns>A task that completes when the service is open.</returns>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
        => await GetServiceAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Enriches the event's <see cref="InferenceRequest"/> body.</summary>
    /// <param name="servingEvent">The event; its body must be an <see cref="InferenceRequest"/>.</param>
    /// <param name="context">The graph context.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A new event (same id, path, headers, parameters and items) whose body is the enriched request.</returns>
    /// <exception cref="ServingException">400 when the body is not an inference request, a key is missing or of the wrong
    /// type, or the rows are positional.</exception>
    public async ValueTask<ServingEvent> ProcessAsync(ServingEvent servingEvent, StepContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(servingEvent);
        if (servingEvent.Body is not InferenceRequest request)
            throw new ServingException(400,
                $"Step '{Name}' enriches inference requests, but the event body is {servingEvent.Body?.GetType().Name ?? "null"}.");
        var service = await GetServiceAsync(cancellationToken).ConfigureAwait(false);
        var enriched = request.HasRows
            ? await EnrichRowsAsync(service, request, cancellationToken).ConfigureAwait(false)
            : await EnrichTensorsAsync(service, request, cancellationToken).ConfigureAwait(false);
        return servingEvent.WithBody(enriched);
    }

    /// <summary>Closes the online feature service.</summary>
    /// <returns>A task that completes when it is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed) return;
            _disposed = true;
            if (_service is { } service)
            {
                _service = null;
                await service.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"feature enrichment step '{Name}' ({_vector})";

    private async ValueTask<OnlineFeatureService> GetServiceAsync(CancellationToken cancellationToken)
    {
        if (_service is { } ready) return ready;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _service ??= await _featureStore.GetOnlineServiceAsync(_vector, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask<InferenceRequest> EnrichTensorsAsync(OnlineFeatureService service, InferenceRequest request, CancellationToken cancellationToken)
    {
        var entities = service.EntityColumns;
        var keyTensors = new InferenceTensor[entities.Count];
        int count = -1;
        for (int e = 0; e < entities.Count; e++)
        {
            if (!request.TryGetInput(entities[e], out var tensor))
                throw new ServingException(400,
                    $"Step '{Name}' needs the entity key input '{entities[e]}' to look up the features of '{_vector}'; the request has "
                    + $"{(request.Inputs.Count == 0 ? "no inputs" : string.Join(", ", request.Inputs.Select(i => i.Name)))}. Add a BYTES or integer tensor '{entities[e]}' with one key per row.");
            if (tensor.DataType != TensorDataType.Bytes && !tensor.DataType.IsSignedInteger() && !tensor.DataType.IsUnsignedInteger())
                throw new ServingException(400,
                    $"Step '{Name}': the entity key input '{entities[e]}' is {tensor.DataType.ToProtocolName()}; send the keys as BYTES (strings) or integers.");
            if (count >= 0 && tensor.Data.Length != count)
                throw new ServingException(400,
                    $"Step '{Name}': the entity key input '{entities[e]}' has {tensor.Data.Length} elements but '{entities[0]}' has {count}; every key input needs one element per row.");
            count = tensor.Data.Length;
            keyTensors[e] = tensor;
        }
        count = Math.Max(count, 0);

        var keys = new IReadOnlyDictionary<string, object>[count];
        for (int i = 0; i < count; i++)
        {
            var key = new Dictionary<string, object>(entities.Count, StringComparer.Ordinal);
            for (int e = 0; e < entities.Count; e++)
                key[entities[e]] = KeyOf(keyTensors[e].Data, i);
            keys[i] = key;
        }
        var rows = count == 0 ? [] : await service.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);

        var inputs = new List<InferenceTensor>(request.Inputs);
        var columns = service.Columns;
        for (int c = 0; c < columns.Count; c++)
        {
            var column = columns[c];
            if (request.TryGetInput(column.Name, out _)) continue;
            inputs.Add(new InferenceTensor(column.Name, [count], ToTensorData(column.Type, rows, c, count)));
        }
        return new InferenceRequest { Id = request.Id, Parameters = request.Parameters, Outputs = request.Outputs, Inputs = inputs };
    }

    private async ValueTask<InferenceRequest> EnrichRowsAsync(OnlineFeatureService service, InferenceRequest request, CancellationToken cancellationToken)
    {
        var rowsRequest = request.Rows!;
        var entities = service.EntityColumns;
        var keys = new IReadOnlyDictionary<string, object>[rowsRequest.Count];
        for (int i = 0; i < rowsRequest.Count; i++)
        {
            var row = rowsRequest.Rows[i];
            if (!row.IsKeyed)
                throw new ServingException(400,
                    $"Step '{Name}' enriches rows keyed by feature name, but row {i} is a positional list; send the rows as objects such as {{\"{(entities.Count > 0 ? entities[0] : "key")}\": ...}}.");
            var key = new Dictionary<string, object>(entities.Count, StringComparer.Ordinal);
            foreach (var entity in entities)
            {
                if (!row.TryGetValue(entity, out var value) || value.IsNull)
                    throw new ServingException(400,
                        $"Step '{Name}' needs the entity key '{entity}' in every row to look up the features of '{_vector}'; row {i} has none.");
                key[entity] = value.Kind switch
                {
                    RowValueKind.String => value.String,
                    RowValueKind.Number when value.Number == Math.Floor(value.Number) && Math.Abs(value.Number) < 9.2e18 => (long)value.Number,
                    _ => throw new ServingException(400,
                        $"Step '{Name}': the entity key '{entity}' of row {i} is {value}; send a string or an integer."),
                };
            }
            keys[i] = key;
        }
        var found = rowsRequest.Count == 0 ? [] : await service.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);

        var columns = service.Columns;
        var enriched = new InferenceRow[rowsRequest.Count];
        for (int i = 0; i < rowsRequest.Count; i++)
        {
            var row = rowsRequest.Rows[i];
            var names = new List<string>(row.Count + columns.Count);
            var values = new List<RowValue>(row.Count + columns.Count);
            for (int v = 0; v < row.Count; v++)
            {
                names.Add(row.Names![v]);
                values.Add(row[v]);
            }
            for (int c = 0; c < columns.Count; c++)
            {
                if (row.TryGetValue(columns[c].Name, out _)) continue;
                names.Add(columns[c].Name);
                values.Add(ToRowValue(found[i].Values[c]));
            }
            enriched[i] = new InferenceRow([.. values], [.. names]);
        }
        return new InferenceRequest
        {
            Id = request.Id,
            Parameters = request.Parameters,
            Outputs = request.Outputs,
            Inputs = request.Inputs,
            Rows = new RowsRequest(rowsRequest.Format, enriched),
        };
    }

    private static object KeyOf(TensorData data, int index) => data.DataType switch
    {
        TensorDataType.Bytes => data.AsStrings()[index],
        _ when data.DataType.IsUnsignedInteger() => data.AsUInt64()[index] <= long.MaxValue
            ? (long)data.AsUInt64()[index]
            : data.AsUInt64()[index].ToString(CultureInfo.InvariantCulture),
        _ => data.AsInt64()[index],
    };

    private static TensorData ToTensorData(FeatureType type, IReadOnlyList<FeatureRow> rows, int column, int count)
    {
        switch (type)
        {
            case FeatureType.Double:
                {
                    var values = new double[count];
                    for (int i = 0; i < count; i++) values[i] = rows[i].Values[column].AsDouble();
                    return TensorData.FromDoubles(values);
                }
            case FeatureType.Boolean:
                {
                    var values = new bool[count];
                    for (int i = 0; i < count; i++) values[i] = rows[i].Values[column] is { IsNull: false } v && v.Integer != 0;
                    return TensorData.FromBooleans(values);
                }
            case FeatureType.String:
                {
                    var values = new string[count];
                    for (int i = 0; i < count; i++) values[i] = rows[i].Values[column] is { IsNull: false } v ? v.Text ?? "" : "";
                    return TensorData.FromStrings(values);
                }
            default:
                {
                    var values = new long[count];
                    for (int i = 0; i < count; i++) values[i] = rows[i].Values[column] is { IsNull: false } v ? v.Integer : 0;
                    return TensorData.FromInt64(values);
                }
        }
    }

    private static RowValue ToRowValue(FeatureValue value) => value.IsNull ? RowValue.Null : value.Type switch
    {
        FeatureType.Double => RowValue.FromNumber(value.Number),
        FeatureType.Boolean => RowValue.FromBoolean(value.Integer != 0),
        FeatureType.String => value.Text is { } text ? RowValue.FromString(text) : RowValue.Null,
        _ => RowValue.FromNumber(value.Integer),
    };
}
