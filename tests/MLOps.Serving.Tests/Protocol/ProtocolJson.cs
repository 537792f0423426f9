using System.Text;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests.Protocol;

/// <summary>Helpers for the protocol tests: parse JSON text, expect a 400 and return its message.</summary>
internal static class ProtocolJson
{
    public static InferenceRequest Parse(string json) => InferenceJson.ParseRequest(Encoding.UTF8.GetBytes(json));

    public static string Fails(string json, int statusCode = 400)
    {
        var ex = Assert.Throws<ServingException>(() => Parse(json))!;
        Assert.That(ex.StatusCode, Is.EqualTo(statusCode), ex.Message);
        return ex.Message;
    }

    public static string Tensor(string name, string datatype, string shape, string data) =>
        $$"""{"inputs": [{"name": "{{name}}", "shape": {{shape}}, "datatype": "{{datatype}}", "data": {{data}}}]}""";

    public static InferenceRequest RoundTrip(InferenceRequest request) => InferenceJson.ParseRequest(InferenceJson.SerializeRequest(request));

    public static InferenceResponse RoundTrip(InferenceResponse response) => InferenceJson.ParseResponse(InferenceJson.SerializeResponse(response));
}
