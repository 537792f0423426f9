using System.Text.Json;

namespace MLOps.Serving.Protocol;

/// <summary>
/// An inference request of the Open Inference Protocol (<c>POST v2/models/{name}/infer</c>). It carries either V2
/// tensors (<see cref="Inputs"/>) or, MLRun style, rows of feature values (<see cref="Rows"/>).
/// </summary>
public sealed class InferenceRequest
{
    /// <summary>An optional request id, echoed in the response.</summary>
    public string? Id { get; init; }

    /// <summary>Optional request parameters (a map of names to JSON values), or null.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; init; }

    /// <summary>The input tensors; empty when the request carries <see cref="Rows"/>.</summary>
    public IReadOnlyList<InferenceTensor> Inputs { get; init; } = [];

    /// <summary>The outputs asked for, or null for every output of the model.</summary>
    public IReadOnlyList<RequestedOutput>? Outputs { get; init; }

    /// <summary>The MLRun-style rows when <c>inputs</c> was a list of lists or a list of objects keyed by feature name; null for tensors.</summary>
    public RowsRequest? Rows { get; init; }

    /// <summary>Whether the request carries rows rather than tensors.</summary>
    public bool HasRows => Rows is not null;

    /// <summary>Finds an input tensor by name.</summary>
    /// <param name="name">The tensor name (case-sensitive).</param>
    /// <param name="tensor">The tensor when found.</param>
    /// <returns>Whether the request has the input.</returns>
    public bool TryGetInput(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out InferenceTensor? tensor)
    {
        var inputs = Inputs;
        for (int i = 0; i < inputs.Count; i++)
        {
            if (string.Equals(inputs[i].Name, name, StringComparison.Ordinal))
            {
                tensor = inputs[i];
                return true;
            }
        }
        tensor = null;
        return false;
    }
}

/// <summary>An inference response of the Open Inference Protocol.</summary>
public sealed class InferenceResponse
{
    /// <summary>The name of the model that answered (<c>model_name</c>).</summary>
    public required string ModelName { get; init; }

    /// <summary>The version of the model that answered (<c>model_version</c>), or null.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The id of the request this answers (the request's id echoed), or null.</summary>
    public string? Id { get; init; }

    /// <summary>Optional response parameters, or null.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; init; }

    /// <summary>The output tensors.</summary>
    public IReadOnlyList<InferenceTensor> Outputs { get; init; } = [];

    /// <summary>Creates a response to a request: keeps its id.</summary>
    /// <param name="request">The request answered.</param>
    /// <param name="modelName">The model that answered.</param>
    /// <param name="modelVersion">Its version, or null.</param>
    /// <param name="outputs">The output tensors.</param>
    /// <returns>The response.</returns>
    public static InferenceResponse For(InferenceRequest request, string modelName, string? modelVersion, IReadOnlyList<InferenceTensor> outputs)
    {
        ArgumentNullException.ThrowIfNull(request);
        Throw.IfNullOrWhitespace(modelName);
        ArgumentNullException.ThrowIfNull(outputs);
        return new() { ModelName = modelName, ModelVersion = modelVersion, Id = request.Id, Outputs = outputs };
    }

    /// <summary>Finds an output tensor by name.</summary>
    /// <param name="name">The tensor name (case-sensitive).</param>
    /// <param name="tensor">The tensor when found.</param>
    /// <returns>Whether the response has the output.</returns>
    public bool TryGetOutput(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out InferenceTensor? tensor)
    {
        foreach (var output in Outputs)
        {
            if (string.Equals(output.Name, name, StringComparison.Ordinal))
            {
                tensor = output;
                return true;
            }
        }
        tensor = null;
        return false;
    }
}
