using System.Text;
using System.Text.Json;
using MLOps.Serving.Protocol;
using static MLOps.Serving.Tests.Protocol.ProtocolJson;

namespace MLOps.Serving.Tests.Protocol;

public class InferenceJsonRoundTripTests
{
    private static IEnumerable<TestCaseData> EveryDatatype()
    {
        yield return new TestCaseData(TensorData.FromBooleans([true, false, true, true, false, false])).SetArgDisplayNames("BOOL");
        yield return new TestCaseData(TensorData.FromUInt64([0, 1, 2, 3, 254, 255], TensorDataType.UInt8)).SetArgDisplayNames("UINT8");
        yield return new TestCaseData(TensorData.FromUInt64([0, 1, 2, 3, 65534, 65535], TensorDataType.UInt16)).SetArgDisplayNames("UINT16");
        yield return new TestCaseData(TensorData.FromUInt64([0, 1, 2, 3, 4, uint.MaxValue], TensorDataType.UInt32)).SetArgDisplayNames("UINT32");
        yield return new TestCaseData(TensorData.FromUInt64([0, 1, 2, 3, 4, ulong.MaxValue])).SetArgDisplayNames("UINT64");
        yield return new TestCaseData(TensorData.FromInt64([-128, -1, 0, 1, 2, 127], TensorDataType.Int8)).SetArgDisplayNames("INT8");
        yield return new TestCaseData(TensorData.FromInt64([short.MinValue, -1, 0, 1, 2, short.MaxValue], TensorDataType.Int16)).SetArgDisplayNames("INT16");
        yield return new TestCaseData(TensorData.FromInt32([int.MinValue, -1, 0, 1, 2, int.MaxValue])).SetArgDisplayNames("INT32");
        yield return new TestCaseData(TensorData.FromInt64([long.MinValue, -1, 0, 1, 2, long.MaxValue])).SetArgDisplayNames("INT64");
        yield return new TestCaseData(TensorData.FromDoubles([-65504, -0.5, 0, 0.099975586, 1, 65504], TensorDataType.Fp16)).SetArgDisplayNames("FP16");
        yield return new TestCaseData(TensorData.FromSingles([float.MinValue, -1.5f, 0, 0.1f, 1e-30f, float.MaxValue])).SetArgDisplayNames("FP32");
        yield return new TestCaseData(TensorData.FromDoubles([double.MinValue, -1.5, 0, 0.1, 1e-300, double.MaxValue])).SetArgDisplayNames("FP64");
        yield return new TestCaseData(TensorData.FromStrings(["SFO", "", "café", "a\"b", "line\nbreak", "🛫"])).SetArgDisplayNames("BYTES");
    }

    [Test]
    public void SerializeError_QuotesAndControlCharacters_ReadableQuotesEscapedControls()
    {
        var body = Encoding.UTF8.GetString(InferenceJson.SerializeError(new ErrorResponse("The model 'delay' said \"no\"\n<ok> & café")));

        Assert.That(body, Is.EqualTo("{\"error\":\"The model 'delay' said \\\"no\\\"\\n<ok> & café\"}"));
    }

    [Test]
    public void SerializeResponse_LargeThenSmallThenFailing_EachBodyComplete()
    {
        var large = new InferenceResponse { ModelName = "m", Outputs = [InferenceTensor.Singles("p", [.. Enumerable.Range(0, 300_000).Select(i => i / 7f)], 300_000)] };
        var small = new InferenceResponse { ModelName = "m", Id = "s", Outputs = [InferenceTensor.Singles("p", [0.25f], 1)] };
        var failing = new InferenceResponse { ModelName = "m", Outputs = [InferenceTensor.Singles("p", [1f, float.NaN], 2)] };

        var largeBody = InferenceJson.SerializeResponse(large);
        var smallBody = InferenceJson.SerializeResponse(small);
        Assert.Throws<ServingException>(() => InferenceJson.SerializeResponse(failing));
        var smallAgain = InferenceJson.SerializeResponse(small);

        Assert.That(InferenceJson.ParseResponse(largeBody).Outputs[0].Data.AsSingles().ToArray(), Is.EqualTo(large.Outputs[0].Data.AsSingles().ToArray()));
        Assert.That(Encoding.UTF8.GetString(smallBody), Is.EqualTo("""{"model_name":"m","id":"s","outputs":[{"name":"p","shape":[1],"datatype":"FP32","data":[0.25]}]}"""));
        Assert.That(smallAgain, Is.EqualTo(smallBody));
    }

    [TestCaseSource(nameof(EveryDatatype))]
    public void SerializeRequest_EveryDatatype_RoundTripsExactly(TensorData data)
    {
        var request = new InferenceRequest { Id = "r1", Inputs = [new InferenceTensor("t", [2, 3], data)] };

        var parsed = RoundTrip(request).Inputs.Single();

        AssertSame(parsed, request.Inputs[0]);
    }

    [TestCaseSource(nameof(EveryDatatype))]
    public void SerializeResponse_EveryDatatype_RoundTripsExactly(TensorData data)
    {
        var response = new InferenceResponse { ModelName = "m", ModelVersion = "3", Outputs = [new InferenceTensor("t", [3, 2], data)] };

        var parsed = RoundTrip(response);

        Assert.That(parsed.ModelName, Is.EqualTo("m"));
        Assert.That(parsed.ModelVersion, Is.EqualTo("3"));
        AssertSame(parsed.Outputs.Single(), response.Outputs[0]);
    }

    [Test]
    public void WriteResponse_Response_UsesSnakeCaseNamesAndProtocolDatatypes()
    {
        var response = new InferenceResponse
        {
            ModelName = "delay",
            ModelVersion = "2",
            Id = "abc",
            Outputs = [InferenceTensor.Singles("score", [0.5f, 1f])],
        };

        string json = Encoding.UTF8.GetString(InferenceJson.SerializeResponse(response));

        Assert.That(json, Is.EqualTo("""{"model_name":"delay","model_version":"2","id":"abc","outputs":[{"name":"score","shape":[2],"datatype":"FP32","data":[0.5,1]}]}"""));
    }

    [Test]
    public void WriteResponse_NoVersionNoId_LeavesThemOut()
    {
        var response = new InferenceResponse { ModelName = "m", Outputs = [InferenceTensor.Booleans("b", [true])] };

        string json = Encoding.UTF8.GetString(InferenceJson.SerializeResponse(response));

        Assert.That(json, Does.Not.Contain("model_version").And.Not.Contain("\"id\""));
    }

    [Test]
    public void WriteResponse_NaNOutput_Throws500NamingTheOutput()
    {
        var response = new InferenceResponse { ModelName = "m", Outputs = [InferenceTensor.Doubles("p", [1, double.NaN])] };

        var ex = Assert.Throws<ServingException>(() => InferenceJson.SerializeResponse(response))!;

        Assert.That(ex.StatusCode, Is.EqualTo(500));
        Assert.That(ex.Message, Does.Contain("'p'").And.Contain("data[1]"));
    }

    [Test]
    public void For_Request_KeepsTheRequestIdAndParametersEchoable()
    {
        var request = Parse("""{"id": "flight-42", "parameters": {"trace": true}, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}""");

        var answer = InferenceResponse.For(request, "delay", "1", [InferenceTensor.Singles("y", [2f])]);
        var response = new InferenceResponse
        {
            ModelName = answer.ModelName,
            ModelVersion = answer.ModelVersion,
            Id = answer.Id,
            Parameters = request.Parameters,
            Outputs = answer.Outputs,
        };
        var parsed = RoundTrip(response);

        Assert.That(parsed.Id, Is.EqualTo("flight-42"));
        Assert.That(parsed.Parameters!["trace"].GetBoolean(), Is.True);
    }

    [Test]
    public void SerializeRequest_ParametersAndRequestedOutputs_RoundTrip()
    {
        var parameters = new Dictionary<string, JsonElement>
        {
            ["threshold"] = JsonSerializer.SerializeToElement(0.25),
            ["labels"] = JsonSerializer.SerializeToElement(new[] { "late", "on time" }),
        };
        var request = new InferenceRequest
        {
            Id = "x",
            Parameters = parameters,
            Inputs = [new InferenceTensor("a", [1], TensorData.FromSingles([1f]), parameters)],
            Outputs = [new RequestedOutput("label", parameters), new RequestedOutput("score")],
        };

        var parsed = RoundTrip(request);

        Assert.Multiple(() =>
        {
            Assert.That(parsed.Parameters!["threshold"].GetDouble(), Is.EqualTo(0.25));
            Assert.That(parsed.Parameters["labels"][1].GetString(), Is.EqualTo("on time"));
            Assert.That(parsed.Inputs[0].Parameters!.Keys, Is.EquivalentTo(parameters.Keys));
            Assert.That(parsed.Outputs!.Select(o => o.Name), Is.EqualTo(new[] { "label", "score" }));
            Assert.That(parsed.Outputs![0].Parameters!["threshold"].GetDouble(), Is.EqualTo(0.25));
        });
    }

    [Test]
    public void InferenceTensor_DataNotMatchingShape_ThrowsValidationException()
    {
        var e = Assert.Throws<ValidationException>(() => _ = new InferenceTensor("x", [2, 2], TensorData.FromSingles([1f, 2f, 3f])));
        Assert.That(e!.Message, Does.Contain("Tensor 'x': shape [2, 2] holds 4 elements but the data has 3"));
    }

    [Test]
    public void FromUInt64_ValueOutOfTheType_ThrowsValidationExceptionNamingTheValue()
    {
        var e = Assert.Throws<ValidationException>(() => TensorData.FromUInt64([1, 256], TensorDataType.UInt8));
        Assert.That(e!.Message, Does.Contain("values[1] is 256").And.Contain("UINT8 (0..255)"));
    }

    [Test]
    public void AsSingles_Int64Data_ThrowsInvalidState()
    {
        var data = TensorData.FromInt64([1]);

        Assert.Throws<InvalidStateException>(() => data.AsSingles());
        Assert.That(data.GetDouble(0), Is.EqualTo(1));
    }

    [Test]
    public void ServerMetadata_Serialize_RoundTrips()
    {
        var metadata = new ServerMetadata { Name = "mlops-dotnet", Version = "0.1.0", Extensions = ["model_repository"] };

        byte[] json = InferenceJson.SerializeServerMetadata(metadata);
        var parsed = InferenceJson.ParseServerMetadata(json);

        Assert.That(Encoding.UTF8.GetString(json), Is.EqualTo("""{"name":"mlops-dotnet","version":"0.1.0","extensions":["model_repository"]}"""));
        Assert.That(parsed.Extensions, Is.EqualTo(metadata.Extensions));
    }

    [Test]
    public void ModelMetadata_Serialize_RoundTripsWithVariableDimensions()
    {
        var metadata = new ModelMetadata
        {
            Name = "delay",
            Versions = ["1", "2"],
            Platform = "mlnet",
            Inputs = [new TensorMetadata("distance", TensorDataType.Fp32, -1), new TensorMetadata("origin", TensorDataType.Bytes, -1)],
            Outputs = [new TensorMetadata("score", TensorDataType.Fp32, -1, 1)],
        };

        byte[] json = InferenceJson.SerializeModelMetadata(metadata);
        var parsed = InferenceJson.ParseModelMetadata(json);

        Assert.That(Encoding.UTF8.GetString(json), Does.Contain("""{"name":"distance","datatype":"FP32","shape":[-1]}"""));
        Assert.That(parsed.Versions, Is.EqualTo(new[] { "1", "2" }));
        Assert.That(parsed.Platform, Is.EqualTo("mlnet"));
        Assert.That(parsed.Inputs.Select(i => (i.Name, i.DataType)), Is.EqualTo(new[] { ("distance", TensorDataType.Fp32), ("origin", TensorDataType.Bytes) }));
        Assert.That(parsed.Outputs[0].Shape, Is.EqualTo(new long[] { -1, 1 }));
    }

    [Test]
    public void ErrorResponse_Serialize_WritesTheErrorBody()
    {
        byte[] json = InferenceJson.SerializeError(new ErrorResponse("Model 'x' is not ready."));

        Assert.That(Encoding.UTF8.GetString(json), Does.StartWith("""{"error":"Model """));
        Assert.That(InferenceJson.ParseError(json).Error, Is.EqualTo("Model 'x' is not ready."));
    }

    [Test]
    public void TensorDataTypes_EveryName_ParsesBackFromStringAndUtf8()
    {
        foreach (var dataType in Enum.GetValues<TensorDataType>())
        {
            string name = dataType.ToProtocolName();
            Assert.That(TensorDataTypes.TryParse(name, out var fromString) && fromString == dataType, Is.True, name);
            Assert.That(TensorDataTypes.TryParse(Encoding.UTF8.GetBytes(name), out var fromUtf8) && fromUtf8 == dataType, Is.True, name);
        }
    }

    private static void AssertSame(InferenceTensor actual, InferenceTensor expected)
    {
        Assert.That(actual.Name, Is.EqualTo(expected.Name));
        Assert.That(actual.DataType, Is.EqualTo(expected.DataType));
        Assert.That(actual.Shape.ToArray(), Is.EqualTo(expected.Shape.ToArray()));
        Assert.That(actual.Data.Length, Is.EqualTo(expected.Data.Length));
        for (int i = 0; i < expected.Data.Length; i++)
            Assert.That(actual.Data.GetValue(i), Is.EqualTo(expected.Data.GetValue(i)), $"element {i}");
    }
}
