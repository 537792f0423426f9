namespace MLOps.Serving.Protocol;

/// <summary>The server metadata of the Open Inference Protocol (<c>GET v2</c>): <c>{"name", "version", "extensions"}</c>.</summary>
public sealed class ServerMetadata
{
    /// <summary>The server name.</summary>
    public required string Name { get; init; }

    /// <summary>The server version.</summary>
    public required string Version { get; init; }

    /// <summary>The protocol extensions the server supports.</summary>
    public IReadOnlyList<string> Extensions { get; init; } = [];
}

/// <summary>The model metadata of the Open Inference Protocol (<c>GET v2/models/{name}[/versions/{version}]</c>).</summary>
public sealed class ModelMetadata
{
    /// <summary>The model name.</summary>
    public required string Name { get; init; }

    /// <summary>The versions of the model the server can answer with.</summary>
    public IReadOnlyList<string> Versions { get; init; } = [];

    /// <summary>The framework and backend, such as <c>"mlnet"</c>.</summary>
    public required string Platform { get; init; }

    /// <summary>The inputs the model takes.</summary>
    public IReadOnlyList<TensorMetadata> Inputs { get; init; } = [];

    /// <summary>The outputs the model gives.</summary>
    public IReadOnlyList<TensorMetadata> Outputs { get; init; } = [];
}

/// <summary>The metadata of one input or output tensor: <c>{"name", "datatype", "shape"}</c>, with -1 for a variable dimension.</summary>
public sealed class TensorMetadata
{
    private readonly long[] _shape;

    /// <summary>Creates the metadata.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="dataType">The datatype.</param>
    /// <param name="shape">The dimensions, -1 where variable (such as the batch dimension).</param>
    public TensorMetadata(string name, TensorDataType dataType, params long[] shape)
    {
        Throw.IfNullOrWhitespace(name);
        ArgumentNullException.ThrowIfNull(shape);
        foreach (long dim in shape)
        {
            if (dim < -1)
                throw new ValidationException($"Tensor '{name}': dimension {dim} is invalid; use 0 or more, or -1 for a variable dimension.");
        }
        Name = name;
        DataType = dataType;
        _shape = (long[])shape.Clone();
    }

    /// <summary>The tensor name.</summary>
    public string Name { get; }

    /// <summary>The datatype.</summary>
    public TensorDataType DataType { get; }

    /// <summary>The dimensions, -1 where variable.</summary>
    public IReadOnlyList<long> Shape => _shape;
}

/// <summary>The error body of the Open Inference Protocol: <c>{"error": "..."}</c>.</summary>
public sealed class ErrorResponse
{
    /// <summary>Creates the error body.</summary>
    /// <param name="error">The message sent to the client.</param>
    public ErrorResponse(string error)
    {
        ArgumentNullException.ThrowIfNull(error);
        Error = error;
    }

    /// <summary>The message sent to the client.</summary>
    public string Error { get; }
}
