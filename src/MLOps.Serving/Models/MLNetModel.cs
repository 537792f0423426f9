using System.Globalization;
using MLOps.Registry;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Models;

/// <summary>Creates <see cref="MLNetModel{TInput, TOutput}"/>s: ML.NET models of the registry served over the Open Inference Protocol.</summary>
public static class MLNetModel
{
    /// <summary>Creates a model that serves a registry model URI (e.g. <c>store://models/flights/delay-model:production</c>);
    /// nothing is loaded until <see cref="MLNetModel{TInput, TOutput}.LoadAsync"/> (a graph or mock server calls it).</summary>
    /// <typeparam name="TInput">The input row type: each public settable property is an input feature.</typeparam>
    /// <typeparam name="TOutput">The output row type: each public readable property is an output tensor.</typeparam>
    /// <param name="project">The project holding the model.</param>
    /// <param name="name">The served model name (<c>v2/models/{name}</c>, the route name in a router).</param>
    /// <param name="uri">A model URI or name, with an alias, a version number or <c>latest</c>.</param>
    /// <param name="options">Polling; <see langword="null"/> means no polling (upgrade with <see cref="MLNetModel{TInput, TOutput}.RefreshAsync"/>).</param>
    /// <returns>The model, not loaded.</returns>
    /// <exception cref="ArgumentException">A row type has a property of a type the model cannot map, or no property at all.</exception>
    /// <exception cref="ValidationException">An option is invalid (<see cref="ModelHandleOptions.Validate"/>).</exception>
    public static MLNetModel<TInput, TOutput> Create<TInput, TOutput>(MLOpsProject project, string name, string uri, ModelHandleOptions? options = null)
        where TInput : class, new()
        where TOutput : class, new()
    {
        ArgumentNullException.ThrowIfNull(project);
        Throw.IfNullOrWhitespace(name);
        Throw.IfNullOrWhitespace(uri);
        ModelHandleOptions.ThrowIfInvalid(options, uri);
        return new MLNetModel<TInput, TOutput>(project, name, uri, options);
    }
}

/// <summary>
/// An ML.NET model of the registry answering Open Inference Protocol requests. Each public settable property of
/// <typeparamref name="TInput"/> is an input (named by its <c>[ColumnName]</c> or its name); each public readable
/// property of <typeparamref name="TOutput"/> is an output of shape <c>[N]</c>. A request carries V2 tensors (one per
/// input, all of the same batch length) or MLRun rows (lists in metadata order, or objects keyed by input name). The
/// model serves the version its URI points to through a <see cref="ModelHandle{TInput, TOutput}"/>, and
/// <see cref="RefreshAsync"/> (or polling) upgrades it without failing a request. Create one with
/// <see cref="MLNetModel.Create{TInput, TOutput}"/>.
/// </summary>
/// <typeparam name="TInput">The input row type.</typeparam>
/// <typeparam name="TOutput">The output row type.</typeparam>
/// <remarks>Thread-safe. A request the model cannot take is a <see cref="ServingException"/> with status 400 naming the input and the rule.</remarks>
public sealed class MLNetModel<TInput, TOutput> : IRegistryModel, IAsyncDisposable
    where TInput : class, new()
    where TOutput : class, new()
{
    private readonly MLOpsProject _project;
    private readonly ModelHandleOptions? _options;
    private readonly ColumnBinding[] _inputs;
    private readonly ColumnBinding[] _outputs;
    private readonly HashSet<string> _inputNames;
    private readonly ColumnBinding? _unknownSizeVector;
    private readonly IReadOnlyList<TensorMetadata> _inputMetadata;
    private readonly IReadOnlyList<TensorMetadata> _outputMetadata;
    private readonly int _rowWidth;
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private ModelHandle<TInput, TOutput>? _handle;
    private ModelMetadata? _metadata;
    private VersionNumberText? _versionText;
    private int _disposed;
    private readonly string _uri;

    internal MLNetModel(MLOpsProject project, string name, string uri, ModelHandleOptions? options)
    {
        _project = project;
        _options = options;
        Name = name;
        _uri = uri;
        _inputs = [.. ColumnBinding.For(typeof(TInput), inputs: true)];
        _outputs = [.. ColumnBinding.For(typeof(TOutput), inputs: false)];
        _inputNames = new HashSet<string>(_inputs.Select(c => c.Name), StringComparer.Ordinal);
        _unknownSizeVector = _inputs.FirstOrDefault(c => c.IsVector && c.VectorSize == 0);
        _inputMetadata = [.. _inputs.Select(c => c.ToMetadata())];
        _outputMetadata = [.. _outputs.Select(c => c.ToMetadata())];
        _rowWidth = _inputs.Sum(c => c.IsVector ? c.VectorSize : 1);
    }

    /// <summary>The served model name.</summary>
    public string Name { get; }

    /// <summary>The registry URI the model serves (the one given to <see cref="DeployAsync"/> once it was called).</summary>
    public string Uri => Volatile.Read(ref _handle)?.Uri ?? _uri;

    /// <summary>The registry version number new requests go to, or <see langword="null"/> before <see cref="LoadAsync"/>.</summary>
    public string? Version => Volatile.Read(ref _handle)?.Version.Version.ToString(CultureInfo.InvariantCulture);

    /// <summary>The registry version new requests go to (its name, number, training data and lineage), or <see langword="null"/> before <see cref="LoadAsync"/>.</summary>
    public ModelVersionRecord? RegistryVersion => Volatile.Read(ref _handle)?.Version;

    /// <summary>The handle serving the model, or <see langword="null"/> before <see cref="LoadAsync"/>.</summary>
    public ModelHandle<TInput, TOutput>? Handle => Volatile.Read(ref _handle);

    /// <summary>The inputs (from <typeparamref name="TInput"/>) and outputs (from <typeparamref name="TOutput"/>), platform <c>mlnet</c>
    /// and the current version.</summary>
    public ModelMetadata Metadata
    {
        get
        {
            var version = Version;
            var cached = Volatile.Read(ref _metadata);
            if (cached is not null && (version is null ? cached.Versions.Count == 0 : cached.Versions.Count == 1 && cached.Versions[0] == version))
                return cached;
            var metadata = new ModelMetadata
            {
                Name = Name,
                Platform = "mlnet",
                Versions = version is null ? [] : [version],
                Inputs = _inputMetadata,
                Outputs = _outputMetadata,
            };
            Volatile.Write(ref _metadata, metadata);
            return metadata;
        }
    }

    /// <summary>Whether the model is loaded.</summary>
    public bool IsReady => Volatile.Read(ref _handle) is not null && Volatile.Read(ref _disposed) == 0;

    /// <summary>Resolves the URI and loads the version it points to; does nothing when already loaded. Thread-safe.</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>A task that completes when the model is ready.</returns>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    /// <exception cref="NotFoundException">The model, version or alias does not exist.</exception>
    public async ValueTask LoadAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _handle) is not null) return;
        await _loadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_handle is not null) return;
            var handle = await ModelHandle.OpenAsync<TInput, TOutput>(_project, _uri, _options, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _handle, handle);
        }
        finally
        {
            _loadLock.Release();
        }
    }

    /// <summary>Resolves the URI again and, when it points to another version, upgrades to it; requests in flight finish on
    /// the old version. A failed upgrade keeps the current version (see <see cref="ModelHandle{TInput, TOutput}.LastError"/>).</summary>
    /// <param name="cancellationToken">Cancels the refresh.</param>
    /// <returns><see langword="true"/> when the model now serves another version.</returns>
    /// <exception cref="InvalidStateException">The model is not loaded.</exception>
    public Task<bool> RefreshAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var handle = Volatile.Read(ref _handle)
                     ?? throw new InvalidStateException($"The model '{Name}' is not loaded; call LoadAsync before RefreshAsync.");
        return handle.RefreshAsync(cancellationToken);
    }

    /// <summary>Deploys another URI by hand (a version number, another alias or another registered model with the same
    /// row types) without failing a request; see <see cref="ModelHandle{TInput, TOutput}.DeployAsync"/>. <see cref="Uri"/>
    /// follows it.</summary>
    /// <param name="uri">The model URI or name to serve from now on.</param>
    /// <param name="cancellationToken">Cancels the deployment (the current version stays).</param>
    /// <returns><see langword="true"/> when the model now serves another version.</returns>
    /// <exception cref="InvalidStateException">The model is not loaded.</exception>
    /// <exception cref="NotFoundException">The model, version or alias does not exist.</exception>
    /// <exception cref="ValidationException">The version is not an ML.NET model, or the row types do not fit it.</exception>
    public Task<bool> DeployAsync(string uri, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(uri);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var handle = Volatile.Read(ref _handle)
                     ?? throw new InvalidStateException($"The model '{Name}' is not loaded; call LoadAsync before DeployAsync.");
        return handle.DeployAsync(uri, cancellationToken);
    }

    /// <summary>Maps the request onto <typeparamref name="TInput"/> rows, predicts them with one version and returns one
    /// output tensor of shape <c>[N]</c> per output (only the requested ones when the request names outputs). Thread-safe.</summary>
    /// <param name="request">V2 tensors or MLRun rows.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The response, with the version that predicted it.</returns>
    /// <exception cref="ServingException">400 naming the input and the rule; 503 when the model is not loaded.</exception>
    public ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var handle = Volatile.Read(ref _handle);
        if (handle is null || Volatile.Read(ref _disposed) != 0)
            throw new ServingException(503, $"The model '{Name}' is not loaded; call LoadAsync first.");
        var outputs = SelectOutputs(request);
        var rows = request.HasRows ? FromRows(request.Rows!) : FromTensors(request);
        cancellationToken.ThrowIfCancellationRequested();
        TOutput[] predictions;
        string version;
        using (var lease = handle.Acquire())
        {
            predictions = rows.Length == 0 ? [] : lease.Predictor.PredictArray(rows);
            version = VersionText(lease.Predictor.Version.Version);
        }
        var tensors = new InferenceTensor[outputs.Count];
        long[] shape = [predictions.Length]; // shared by the scalar outputs: a tensor never changes its shape
        for (int i = 0; i < outputs.Count; i++)
            tensors[i] = ToTensor(outputs[i], predictions, shape);
        return ValueTask.FromResult(InferenceResponse.For(request, Name, version, tensors));
    }

    /// <summary>The version number as text, cached: one string per version rather than one per request.</summary>
    private string VersionText(int number)
    {
        var last = Volatile.Read(ref _versionText);
        if (last is not null && last.Number == number) return last.Text;
        var text = new VersionNumberText(number, number.ToString(CultureInfo.InvariantCulture));
        Volatile.Write(ref _versionText, text);
        return text.Text;
    }

    private sealed record VersionNumberText(int Number, string Text);

    /// <summary>Disposes the handle: stops polling and releases the predictors once their requests return.</summary>
    /// <returns>A task that completes when disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _loadLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_handle is { } handle) await handle.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _loadLock.Release();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"ML.NET model '{Name}' ({Uri}{(Version is { } v ? $" -> v{v}" : ", not loaded")})";

    private string InputList => string.Join(", ", _inputs);

    private static ServingException Bad(string message) => new(400, message);

    private IReadOnlyList<ColumnBinding> SelectOutputs(InferenceRequest request)
    {
        if (request.Outputs is not { Count: > 0 } requested) return _outputs;
        var selected = new List<ColumnBinding>(requested.Count);
        foreach (var output in requested)
        {
            var column = _outputs.FirstOrDefault(c => string.Equals(c.Name, output.Name, StringComparison.Ordinal))
                         ?? throw Bad($"The model '{Name}' has no output '{output.Name}'; its outputs are {string.Join(", ", _outputs)}.");
            if (!selected.Contains(column)) selected.Add(column);
        }
        return selected;
    }

    private TInput[] FromTensors(InferenceRequest request)
    {
        if (request.Inputs.Count == 0)
            throw Bad($"The request has no inputs; the model '{Name}' takes {InputList}.");
        var given = request.Inputs;
        for (int t = 0; t < given.Count; t++)
        {
            string name = given[t].Name;
            if (!_inputNames.Contains(name))
                throw Bad($"Unknown input '{name}': the model '{Name}' takes {InputList}.");
            for (int u = 0; u < t; u++)
            {
                if (string.Equals(given[u].Name, name, StringComparison.Ordinal))
                    throw Bad($"Input '{name}' is given twice; send one tensor per input.");
            }
        }
        var tensors = new InferenceTensor[_inputs.Length];
        for (int i = 0; i < _inputs.Length; i++)
        {
            if (!request.TryGetInput(_inputs[i].Name, out var tensor))
                throw Bad($"Missing input '{_inputs[i].Name}': the model '{Name}' takes {InputList}, one tensor each.");
            tensors[i] = tensor;
        }

        // The batch length: the first dimension of every input, which must agree. A scalar (shape []) has none.
        long n = -1;
        string first = "";
        for (int i = 0; i < tensors.Length; i++)
        {
            var column = _inputs[i];
            var tensor = tensors[i];
            var shape = tensor.Shape;
            if (shape.Length == 0)
                throw Bad($"Input '{tensor.Name}' has shape [] (a scalar), which has no batch length; send it with the batch length first, like every input: shape {(column.IsVector ? "[1, size] for one row or [N, size]" : "[1] for one row or [N]")}.");
            if (n < 0)
            {
                n = shape[0];
                first = tensor.Name;
            }
            if (shape[0] != n)
                throw Bad($"Input '{tensor.Name}' has a batch length of {shape[0]} (shape [{string.Join(", ", shape.ToArray())}]) but '{first}' has {n}; every input must have the same batch length (shape[0]).");
            if (column.IsVector)
            {
                if (shape.Length != 2 || (column.VectorSize > 0 && shape[1] != column.VectorSize))
                    throw Bad($"Input '{tensor.Name}' has shape [{string.Join(", ", shape.ToArray())}]; it takes shape [N, {(column.VectorSize > 0 ? column.VectorSize.ToString(CultureInfo.InvariantCulture) : "size")}].");
            }
            else if (shape.Length > 2 || (shape.Length == 2 && shape[1] != 1))
            {
                throw Bad($"Input '{tensor.Name}' has shape [{string.Join(", ", shape.ToArray())}]; it takes one value per row, shape [N] or [N, 1].");
            }
            CheckDataType(column, tensor);
        }

        var rows = new TInput[checked((int)n)];
        for (int r = 0; r < rows.Length; r++)
            rows[r] = new TInput();
        for (int i = 0; i < tensors.Length; i++)
            SetFromTensor(_inputs[i], tensors[i], rows);
        return rows;
    }

    private static void CheckDataType(ColumnBinding column, InferenceTensor tensor)
    {
        var type = tensor.DataType;
        bool numeric = type.IsFloatingPoint() || type.IsSignedInteger() || type.IsUnsignedInteger();
        bool ok = column.Kind switch
        {
            ColumnKind.Single or ColumnKind.Double or ColumnKind.SingleVector => numeric,
            ColumnKind.Int32 or ColumnKind.Int64 => type.IsSignedInteger() || type.IsUnsignedInteger(),
            ColumnKind.Boolean => type == TensorDataType.Bool,
            _ => type == TensorDataType.Bytes,
        };
        if (ok) return;
        string accepted = column.Kind switch
        {
            ColumnKind.Single or ColumnKind.Double or ColumnKind.SingleVector => " (or another numeric datatype)",
            ColumnKind.Int32 or ColumnKind.Int64 => " (or another integer datatype)",
            _ => "",
        };
        throw Bad($"Input '{tensor.Name}' has datatype {type.ToProtocolName()}; it takes {column.DataTypeName}{accepted}.");
    }

    private static void SetFromTensor(ColumnBinding column, InferenceTensor tensor, TInput[] rows)
    {
        var data = tensor.Data;
        switch (column.Kind)
        {
            case ColumnKind.Single:
                var setSingle = column.Setter<TInput, float>();
                if (data.DataType == TensorDataType.Fp32)
                {
                    var singles = data.AsSingles();
                    for (int r = 0; r < rows.Length; r++) setSingle(rows[r], singles[r]);
                }
                else
                {
                    for (int r = 0; r < rows.Length; r++) setSingle(rows[r], (float)data.GetDouble(r));
                }
                break;
            case ColumnKind.Double:
                var setDouble = column.Setter<TInput, double>();
                for (int r = 0; r < rows.Length; r++) setDouble(rows[r], data.GetDouble(r));
                break;
            case ColumnKind.Int32:
            case ColumnKind.Int64:
                var setInt32 = column.Kind == ColumnKind.Int32 ? column.Setter<TInput, int>() : null;
                var setInt64 = column.Kind == ColumnKind.Int64 ? column.Setter<TInput, long>() : null;
                for (int r = 0; r < rows.Length; r++)
                {
                    double value = data.GetDouble(r);
                    bool fits = setInt32 is not null ? value is >= int.MinValue and <= int.MaxValue : value is >= long.MinValue and < 9.2233720368547758E18;
                    if (!fits)
                        throw Bad($"Input '{tensor.Name}', row {r}: {data.FormatValue(r)} does not fit {column.DataTypeName}.");
                    if (setInt32 is not null)
                        setInt32(rows[r], (int)value);
                    else
                        setInt64!(rows[r], data.DataType.IsSignedInteger() ? data.AsInt64()[r] : (long)value);
                }
                break;
            case ColumnKind.Boolean:
                var setBoolean = column.Setter<TInput, bool>();
                var booleans = data.AsBooleans();
                for (int r = 0; r < rows.Length; r++) setBoolean(rows[r], booleans[r]);
                break;
            case ColumnKind.String:
                var setString = column.Setter<TInput, string>();
                var strings = data.AsStrings();
                for (int r = 0; r < rows.Length; r++) setString(rows[r], strings[r]);
                break;
            default:
                var setVector = column.Setter<TInput, float[]>();
                int width = rows.Length == 0 ? 0 : data.Length / rows.Length;
                for (int r = 0; r < rows.Length; r++)
                {
                    var vector = new float[width];
                    for (int j = 0; j < width; j++) vector[j] = (float)data.GetDouble(r * width + j);
                    setVector(rows[r], vector);
                }
                break;
        }
    }

    private TInput[] FromRows(RowsRequest request)
    {
        var rows = new TInput[request.Count];
        for (int r = 0; r < rows.Length; r++)
        {
            var source = request.Rows[r];
            var row = new TInput();
            if (source.IsKeyed)
            {
                var keys = source.Names!;
                for (int k = 0; k < keys.Count; k++)
                {
                    if (!_inputNames.Contains(keys[k]))
                        throw Bad($"Row {r} has unknown input '{keys[k]}': the model '{Name}' takes {InputList}.");
                }
                foreach (var column in _inputs)
                {
                    if (column.IsVector)
                        throw Bad($"Input '{column.Name}' is a vector; rows keyed by name carry one value per input, so send it as a V2 tensor of shape [N, {column.VectorSize}].");
                    if (!source.TryGetValue(column.Name, out var value))
                        throw Bad($"Row {r} is missing input '{column.Name}': each row object needs {string.Join(", ", _inputs.Select(c => c.Name))}.");
                    Set(column, row, value, r);
                }
            }
            else
            {
                if (_unknownSizeVector is not null)
                    throw Bad($"Input '{_unknownSizeVector.Name}' is a vector of unknown size; send it as a V2 tensor.");
                if (source.Count != _rowWidth)
                    throw Bad($"Row {r} has {source.Count} values; the model '{Name}' takes {_rowWidth}, in this order: {InputList}.");
                int position = 0;
                foreach (var column in _inputs)
                {
                    if (column.IsVector)
                    {
                        var vector = new float[column.VectorSize];
                        for (int j = 0; j < vector.Length; j++)
                            vector[j] = (float)Number(column, source[position++], r);
                        column.Setter<TInput, float[]>()(row, vector);
                    }
                    else
                    {
                        Set(column, row, source[position++], r);
                    }
                }
            }
            rows[r] = row;
        }
        return rows;
    }

    private static void Set(ColumnBinding column, TInput row, RowValue value, int r)
    {
        switch (column.Kind)
        {
            case ColumnKind.Single:
                column.Setter<TInput, float>()(row, (float)Number(column, value, r));
                break;
            case ColumnKind.Double:
                column.Setter<TInput, double>()(row, Number(column, value, r));
                break;
            case ColumnKind.Int32:
                column.Setter<TInput, int>()(row, (int)Integer(column, value, r, int.MinValue, int.MaxValue));
                break;
            case ColumnKind.Int64:
                column.Setter<TInput, long>()(row, Integer(column, value, r, long.MinValue, long.MaxValue));
                break;
            case ColumnKind.Boolean:
                column.Setter<TInput, bool>()(row, value.Kind == RowValueKind.Boolean
                    ? value.Boolean
                    : throw Bad($"Row {r}, input '{column.Name}': {Describe(value)} is not a boolean; it takes true or false."));
                break;
            default:
                column.Setter<TInput, string>()(row, value.Kind == RowValueKind.String
                    ? value.String!
                    : throw Bad($"Row {r}, input '{column.Name}': {Describe(value)} is not a string; it takes a string."));
                break;
        }
    }

    private static double Number(ColumnBinding column, RowValue value, int r) => value.Kind switch
    {
        RowValueKind.Number or RowValueKind.Boolean => value.Number,
        RowValueKind.Null when column.Kind is ColumnKind.Single or ColumnKind.Double or ColumnKind.SingleVector => double.NaN,
        _ => throw Bad($"Row {r}, input '{column.Name}': {Describe(value)} is not a number; it takes a number ({column.DataTypeName})."),
    };

    private static long Integer(ColumnBinding column, RowValue value, int r, long min, long max)
    {
        double number = Number(column, value, r);
        if (number != Math.Floor(number) || number < min || number >= 9.2233720368547758E18 || number > max)
            throw Bad($"Row {r}, input '{column.Name}': {value} is not an integer that fits {column.DataTypeName}.");
        return (long)number;
    }

    private static string Describe(RowValue value) => value.Kind switch
    {
        RowValueKind.String => $"the string \"{value.String}\"",
        RowValueKind.Null => "null",
        _ => value.ToString(),
    };

    private static InferenceTensor ToTensor(ColumnBinding column, TOutput[] predictions, long[] shape)
    {
        int n = predictions.Length;
        TensorData data;
        switch (column.Kind)
        {
            case ColumnKind.Single:
                data = TensorData.FromSingles(Read<float>(column, predictions));
                break;
            case ColumnKind.Double:
                data = TensorData.FromDoubles(Read<double>(column, predictions));
                break;
            case ColumnKind.Int32:
                data = TensorData.FromInt32(Read<int>(column, predictions));
                break;
            case ColumnKind.Int64:
                data = TensorData.FromInt64(Read<long>(column, predictions));
                break;
            case ColumnKind.UInt32:
                var keys = Read<uint>(column, predictions);
                var widened = new ulong[keys.Length];
                for (int i = 0; i < keys.Length; i++) widened[i] = keys[i];
                data = TensorData.FromUInt64(widened, TensorDataType.UInt32);
                break;
            case ColumnKind.Boolean:
                data = TensorData.FromBooleans(Read<bool>(column, predictions));
                break;
            case ColumnKind.String:
                var strings = Read<string?>(column, predictions);
                for (int i = 0; i < strings.Length; i++) strings[i] ??= "";
                data = TensorData.FromStrings(strings!);
                break;
            default:
                var vectors = Read<float[]?>(column, predictions);
                int width = vectors.Length == 0 ? Math.Max(column.VectorSize, 0) : vectors[0]?.Length ?? 0;
                var values = new float[checked(vectors.Length * width)];
                for (int i = 0; i < vectors.Length; i++)
                {
                    var vector = vectors[i] ?? [];
                    if (vector.Length != width)
                        throw new InvalidStateException($"The output '{column.Name}' has vectors of different lengths; it cannot be one tensor.");
                    vector.CopyTo(values, i * width);
                }
                data = TensorData.FromSingles(values);
                shape = [n, width];
                break;
        }
        return new InferenceTensor(column.Name, shape, data, null, trusted: true); // shape and data agree by construction
    }

    private static T[] Read<T>(ColumnBinding column, TOutput[] predictions)
    {
        var get = column.Getter<TOutput, T>();
        var values = new T[predictions.Length];
        for (int i = 0; i < values.Length; i++) values[i] = get(predictions[i]);
        return values;
    }
}
