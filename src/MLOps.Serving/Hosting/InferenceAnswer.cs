using System.Text.Json;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Hosting;

/// <summary>What an answer of the Open Inference Protocol carries, so that it can be written as JSON where it goes: into an
/// exact-size array (<see cref="InferenceServer.SendAsync"/>) or straight into Kestrel's response pipe (the HTTP endpoints).</summary>
internal enum InferenceAnswerKind
{
    Live,
    Ready,
    ServerMetadata,
    ModelList,
    ModelMetadata,
    Response,
    Error,
}

/// <summary>
/// The answer of one endpoint before it is written: a status code and the value of its JSON body. A struct, so that an
/// answer made synchronously (health, metadata, an inference that completes at once) allocates nothing of its own.
/// </summary>
internal readonly struct InferenceAnswer
{
    private InferenceAnswer(int statusCode, InferenceAnswerKind kind, object? value, bool flag)
    {
        StatusCode = statusCode;
        Kind = kind;
        Value = value;
        Flag = flag;
    }

    /// <summary>The HTTP status code.</summary>
    public int StatusCode { get; }

    /// <summary>What the body is.</summary>
    public InferenceAnswerKind Kind { get; }

    /// <summary>The body's value: the model name of a model's readiness, the metadata, the models, the response or the error message.</summary>
    public object? Value { get; }

    /// <summary>The value of a <c>{"live": ...}</c> or <c>{"ready": ...}</c> answer.</summary>
    public bool Flag { get; }

    /// <summary><c>{"live": true}</c>.</summary>
    public static InferenceAnswer Live() => new(200, InferenceAnswerKind.Live, null, true);

    /// <summary>200 <c>{"ready": true}</c> or 503 <c>{"ready": false}</c>, with <c>"name"</c> for a model.</summary>
    public static InferenceAnswer Ready(string? model, bool ready) => new(ready ? 200 : 503, InferenceAnswerKind.Ready, model, ready);

    /// <summary>200 with the server metadata.</summary>
    public static InferenceAnswer Of(ServerMetadata metadata) => new(200, InferenceAnswerKind.ServerMetadata, metadata, false);

    /// <summary>200 with the model metadata.</summary>
    public static InferenceAnswer Of(ModelMetadata metadata) => new(200, InferenceAnswerKind.ModelMetadata, metadata, false);

    /// <summary>200 with MLRun's list of model names.</summary>
    public static InferenceAnswer Of(IReadOnlyList<IInferenceModel> models) => new(200, InferenceAnswerKind.ModelList, models, false);

    /// <summary>200 with an inference response.</summary>
    public static InferenceAnswer Of(InferenceResponse response) => new(200, InferenceAnswerKind.Response, response, false);

    /// <summary>An <c>{"error": "..."}</c> answer.</summary>
    public static InferenceAnswer Error(int statusCode, string message) => new(statusCode, InferenceAnswerKind.Error, message, false);

    /// <summary>Writes the body.</summary>
    public static void Write(Utf8JsonWriter writer, InferenceAnswer answer)
    {
        switch (answer.Kind)
        {
            case InferenceAnswerKind.Live:
            case InferenceAnswerKind.Ready:
                writer.WriteStartObject();
                if (answer.Value is string name)
                    writer.WriteString("name"u8, name);
                writer.WriteBoolean(answer.Kind == InferenceAnswerKind.Live ? "live"u8 : "ready"u8, answer.Flag);
                writer.WriteEndObject();
                break;
            case InferenceAnswerKind.ServerMetadata:
                MetadataJson.WriteServerMetadata(writer, (ServerMetadata)answer.Value!);
                break;
            case InferenceAnswerKind.ModelMetadata:
                MetadataJson.WriteModelMetadata(writer, (ModelMetadata)answer.Value!);
                break;
            case InferenceAnswerKind.ModelList:
                writer.WriteStartObject();
                writer.WriteStartArray("models"u8);
                foreach (var served in (IReadOnlyList<IInferenceModel>)answer.Value!)
                    writer.WriteStringValue(served.Name);
                writer.WriteEndArray();
                writer.WriteEndObject();
                break;
            case InferenceAnswerKind.Response:
                ResponseJson.Write(writer, (InferenceResponse)answer.Value!);
                break;
            default:
                ErrorJson.Write(writer, (string)answer.Value!);
                break;
        }
    }

}
