using System.Text;
using System.Text.Json;
using MLOps.Serving.Protocol;
using static MLOps.Serving.Tests.Protocol.ProtocolJson;

namespace MLOps.Serving.Tests.Protocol;

public class InferenceJsonRequestTests
{
    [Test]
    public void ParseRequest_FlatFp32_ReadsNameShapeAndTypedData()
    {
        var request = Parse(Tensor("x", "FP32", "[2, 2]", "[1, 2.5, -3, 4e2]"));

        var input = request.Inputs.Single();
        Assert.Multiple(() =>
        {
            Assert.That(input.Name, Is.EqualTo("x"));
            Assert.That(input.DataType, Is.EqualTo(TensorDataType.Fp32));
            Assert.That(input.Shape.ToArray(), Is.EqualTo(new long[] { 2, 2 }));
            Assert.That(input.Data.AsSingles().ToArray(), Is.EqualTo(new[] { 1f, 2.5f, -3f, 400f }));
            Assert.That(request.HasRows, Is.False);
        });
    }

    [Test]
    public void ParseRequest_NestedData_FlattensRowMajor()
    {
        var nested = Parse(Tensor("x", "INT32", "[2, 3]", "[[1, 2, 3], [4, 5, 6]]")).Inputs[0];
        var flat = Parse(Tensor("x", "INT32", "[2, 3]", "[1, 2, 3, 4, 5, 6]")).Inputs[0];

        Assert.That(nested.Data.AsInt64().ToArray(), Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(flat.Data.AsInt64().ToArray(), Is.EqualTo(nested.Data.AsInt64().ToArray()));
    }

    [Test]
    public void ParseRequest_DeeplyNestedData_FlattensRowMajor()
    {
        var input = Parse(Tensor("x", "FP64", "[2, 2, 2]", "[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]")).Inputs[0];

        Assert.That(input.Data.AsDoubles().ToArray(), Is.EqualTo(new double[] { 1, 2, 3, 4, 5, 6, 7, 8 }));
    }

    [TestCase("[2]", "[[1], 1]", "inputs[0]")]
    [TestCase("[2]", "[1, [2]]", "data[1]")]
    [TestCase("[2, 1]", "[[1], 2]", "data[1]")]
    [TestCase("[2, 2]", "[[1, 2], 3, 4]", "data[2]")]
    [TestCase("[2, 2]", "[[1, 2, 3], [4]]", "inputs[0]")]
    [TestCase("[2]", "[[1, 2]]", "inputs[0]")]
    [TestCase("[]", "[[1]]", "inputs[0]")]
    [TestCase("[1, 2]", "[[[1, 2]]]", "inputs[0]")]
    [TestCase("[2, 0]", "[[]]", "dimension 0")]
    public void ParseRequest_DataNestedUnlikeTheShape_Throws400NamingTheTensor(string shape, string data, string fragment)
    {
        string message = Fails(Tensor("x", "FP32", shape, data));

        Assert.That(message, Does.Contain("Input 'x' (inputs[0])").And.Contain(fragment).And.Contain("nested"));
    }

    [TestCase("[2, 1]", "[[1], [2]]")]
    [TestCase("[2, 1]", "[1, 2]")]
    [TestCase("[]", "[7]")]
    [TestCase("[0]", "[]")]
    [TestCase("[2, 0]", "[[], []]")]
    public void ParseRequest_DataFlatOrNestedLikeTheShape_IsAccepted(string shape, string data)
    {
        var input = Parse(Tensor("x", "FP32", shape, data)).Inputs[0];

        Assert.That(input.Data.Length, Is.EqualTo(data.Count(char.IsDigit)));
    }

    [TestCase("""{"inputs": [{"name": "x", "shape": [1], "datatype": "UINT64", "data": [1], "datatype": "FP32"}]}""", "inputs[0] has 'datatype' twice")]
    [TestCase("""{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1], "shape": [1, 1]}]}""", "inputs[0] has 'shape' twice")]
    [TestCase("""{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1], "data": [2]}]}""", "inputs[0] has 'data' twice")]
    [TestCase("""{"inputs": [{"name": "x", "name": "y", "shape": [1], "datatype": "FP32", "data": [1]}]}""", "inputs[0] has 'name' twice")]
    [TestCase("""{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1], "parameters": {}, "parameters": {}}]}""", "inputs[0] has 'parameters' twice")]
    [TestCase("""{"inputs": [[1]], "inputs": [[2]]}""", "The request has 'inputs' twice")]
    [TestCase("""{"id": "a", "inputs": [[1]], "id": "b"}""", "The request has 'id' twice")]
    [TestCase("""{"inputs": [[1]], "outputs": [{"name": "a", "name": "b"}]}""", "outputs[0] has 'name' twice")]
    public void ParseRequest_PropertyTwice_Throws400NamingIt(string json, string fragment)
    {
        Assert.That(Fails(json), Does.Contain(fragment));
    }

    [TestCase(2)]
    [TestCase(12)]
    public void ParseRequest_InputNameTwice_Throws400NamingBoth(int inputs)
    {
        var tensors = Enumerable.Range(0, inputs - 1).Select(i => $$"""{"name": "x{{i}}", "shape": [1], "datatype": "FP32", "data": [1]}""")
            .Append("""{"name": "x0", "shape": [1], "datatype": "FP32", "data": [2]}""");

        string message = Fails($$"""{"inputs": [{{string.Join(", ", tensors)}}]}""");

        Assert.That(message, Does.Contain($"inputs[{inputs - 1}] is named 'x0' like inputs[0]"));
    }

    [TestCase("\"\"", "an empty 'name'")]
    [TestCase("\" \"", "an empty 'name'")]
    [TestCase("null", "no 'name'")]
    public void ParseRequest_RequestedOutputWithoutName_Throws400(string name, string fragment)
    {
        string message = Fails($$"""{"inputs": [[1]], "outputs": [{"name": "score"}, {"name": {{name}}}]}""");

        Assert.That(message, Does.Contain($"outputs[1] has {fragment}"));
    }

    [Test]
    public void ParseRequest_DataBeforeDatatypeAndShape_ReadsDataOnceTheyAreKnown()
    {
        var request = Parse("""{"inputs": [{"data": [true, false], "name": "b", "datatype": "BOOL", "shape": [2]}]}""");

        Assert.That(request.Inputs[0].Data.AsBooleans().ToArray(), Is.EqualTo(new[] { true, false }));
    }

    [Test]
    public void ParseRequest_DataBeforeDatatype_StillValidatesElements()
    {
        string message = Fails("""{"inputs": [{"data": [1, 2.5], "name": "n", "shape": [2], "datatype": "INT32"}]}""");

        Assert.That(message, Does.Contain("'n'").And.Contain("data[1]").And.Contain("fraction"));
    }

    [Test]
    public void ParseRequest_ShapeMismatch_Throws400NamingCounts()
    {
        string message = Fails(Tensor("x", "FP32", "[2, 3]", "[1, 2, 3, 4, 5]"));

        Assert.That(message, Does.Contain("'x'").And.Contain("5 elements").And.Contain("[2, 3]").And.Contain("holds 6"));
    }

    [Test]
    public void ParseRequest_MoreElementsThanShape_Throws400WithRealCount()
    {
        string message = Fails(Tensor("x", "FP32", "[2]", "[1, 2, 3]"));

        Assert.That(message, Does.Contain("3 elements").And.Contain("holds 2"));
    }

    [Test]
    public void ParseRequest_HugeShape_Throws400WithoutAllocating()
    {
        string message = Fails(Tensor("x", "FP32", "[1000000000, 1000000000]", "[1]"));

        Assert.That(message, Does.Contain("'x'").And.Contain("product of the shape"));
    }

    [Test]
    public void ParseRequest_NegativeDimension_Throws400()
    {
        string message = Fails(Tensor("x", "FP32", "[-1]", "[1]"));

        Assert.That(message, Does.Contain("'x'").And.Contain("shape[0]"));
    }

    [Test]
    public void ParseRequest_UnknownDatatype_Throws400ListingTheDatatypes()
    {
        string message = Fails(Tensor("x", "FP8", "[1]", "[1]"));

        Assert.That(message, Does.Contain("'x'").And.Contain("\"FP8\"").And.Contain("FP32").And.Contain("BYTES"));
    }

    [Test]
    public void ParseRequest_LowerCaseDatatype_Throws400()
    {
        string message = Fails(Tensor("x", "fp32", "[1]", "[1]"));

        Assert.That(message, Does.Contain("\"fp32\""));
    }

    [Test]
    public void ParseRequest_FractionalInt32_Throws400NamingIndexAndRule()
    {
        string message = Fails(Tensor("count", "INT32", "[3]", "[1, 2, 2.5]"));

        Assert.That(message, Does.Contain("'count'").And.Contain("data[2]").And.Contain("2.5").And.Contain("fraction").And.Contain("INT32"));
    }

    [Test]
    public void ParseRequest_WholeNumberWrittenWithFraction_AcceptsIt()
    {
        var input = Parse(Tensor("n", "INT64", "[2]", "[3.0, 1e2]")).Inputs[0];

        Assert.That(input.Data.AsInt64().ToArray(), Is.EqualTo(new long[] { 3, 100 }));
    }

    [TestCase("UINT8", "256", "0..255")]
    [TestCase("UINT8", "-1", "0..255")]
    [TestCase("INT8", "128", "-128..127")]
    [TestCase("INT16", "-32769", "-32768..32767")]
    [TestCase("UINT32", "4294967296", "0..4294967295")]
    [TestCase("INT32", "2147483648", "-2147483648..2147483647")]
    [TestCase("INT64", "9223372036854775808", "-9223372036854775808..9223372036854775807")]
    [TestCase("UINT64", "18446744073709551616", "0..18446744073709551615")]
    public void ParseRequest_OutOfRangeInteger_Throws400NamingTheRange(string datatype, string value, string range)
    {
        string message = Fails(Tensor("v", datatype, "[2]", $"[0, {value}]"));

        Assert.That(message, Does.Contain("'v'").And.Contain("data[1]").And.Contain(value).And.Contain(datatype).And.Contain(range));
    }

    [Test]
    public void ParseRequest_Fp32Overflow_Throws400()
    {
        string message = Fails(Tensor("f", "FP32", "[1]", "[1e39]"));

        Assert.That(message, Does.Contain("'f'").And.Contain("data[0]").And.Contain("FP32"));
    }

    [Test]
    public void ParseRequest_Fp16Overflow_Throws400()
    {
        string message = Fails(Tensor("h", "FP16", "[1]", "[70000]"));

        Assert.That(message, Does.Contain("65504"));
    }

    [TestCase("BOOL", "[1]", "true or false")]
    [TestCase("BOOL", "[\"true\"]", "true or false")]
    [TestCase("FP32", "[\"1.5\"]", "FP32 takes numbers")]
    [TestCase("INT64", "[null]", "INT64 takes whole numbers")]
    [TestCase("BYTES", "[42]", "BYTES takes strings")]
    [TestCase("FP64", "[{\"a\": 1}]", "FP64 takes numbers")]
    public void ParseRequest_WrongElementKind_Throws400NamingTheRule(string datatype, string data, string rule)
    {
        string message = Fails(Tensor("e", datatype, "[1]", data));

        Assert.That(message, Does.Contain("'e'").And.Contain("data[0]").And.Contain(rule));
    }

    [Test]
    public void ParseRequest_MissingName_Throws400NamingTheIndex()
    {
        string message = Fails("""{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]}, {"shape": [1], "datatype": "FP32", "data": [1]}]}""");

        Assert.That(message, Does.Contain("inputs[1]").And.Contain("'name'"));
    }

    [TestCase("datatype", """{"inputs": [{"name": "a", "shape": [1], "data": [1]}]}""")]
    [TestCase("shape", """{"inputs": [{"name": "a", "datatype": "FP32", "data": [1]}]}""")]
    [TestCase("data", """{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1]}]}""")]
    public void ParseRequest_MissingField_Throws400NamingTensorAndField(string field, string json)
    {
        string message = Fails(json);

        Assert.That(message, Does.Contain("'a'").And.Contain($"'{field}'"));
    }

    [Test]
    public void ParseRequest_MissingInputs_Throws400()
    {
        Assert.That(Fails("""{"id": "1"}"""), Does.Contain("'inputs'"));
    }

    [Test]
    public void ParseRequest_EmptyInputs_Throws400()
    {
        Assert.That(Fails("""{"inputs": []}"""), Does.Contain("empty"));
    }

    [TestCase("""{"inputs": [{"name": "a", "shape": [1""", "line 1")]
    [TestCase("""{"inputs": [{"name": "a",, "shape": [1]}]}""", "byte 26")]
    [TestCase("{\n  \"inputs\": [{\"name\" \"a\"}]\n}", "line 2")]
    [TestCase("""{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]}]} x""", "line 1")]
    public void ParseRequest_MalformedJson_Throws400WithThePosition(string json, string position)
    {
        string message = Fails(json);

        Assert.That(message, Does.Contain("not valid JSON").And.Contain(position));
    }

    [Test]
    public void ParseRequest_NotAnObject_Throws400()
    {
        Assert.That(Fails("[1, 2]"), Does.Contain("must be a JSON object"));
    }

    [Test]
    public void ParseRequest_EmptyBody_Throws400()
    {
        Assert.That(Fails(""), Is.Not.Empty);
    }

    [Test]
    public void ParseRequest_InvalidUtf8_Throws400()
    {
        byte[] body = [.. "{\"inputs\": [{\"name\": \""u8, 0xC3, 0x28, .. "\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [1]}]}"u8];

        var ex = Assert.Throws<ServingException>(() => InferenceJson.ParseRequest(body))!;
        Assert.That(ex.StatusCode, Is.EqualTo(400));
    }

    [Test]
    public void ParseRequest_TooDeeplyNested_Throws400()
    {
        string data = new string('[', 100) + "1" + new string(']', 100);

        Assert.That(Fails(Tensor("x", "FP32", "[1]", data)), Does.Contain("not valid JSON"));
    }

    [Test]
    public void ParseRequest_IdParametersAndOutputs_ReadsThem()
    {
        var request = Parse("""
            {"id": "req-7", "parameters": {"content_type": "pd", "threshold": 0.5, "tags": ["a"]},
             "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": 4}, "data": [1]}],
             "outputs": [{"name": "label", "parameters": {"classification": 2}}, {"name": "score"}]}
            """);

        Assert.Multiple(() =>
        {
            Assert.That(request.Id, Is.EqualTo("req-7"));
            Assert.That(request.Parameters!["content_type"].GetString(), Is.EqualTo("pd"));
            Assert.That(request.Parameters["threshold"].GetDouble(), Is.EqualTo(0.5));
            Assert.That(request.Parameters["tags"][0].GetString(), Is.EqualTo("a"));
            Assert.That(request.Inputs[0].Parameters!["binary_data_size"].GetInt32(), Is.EqualTo(4));
            Assert.That(request.Outputs!.Select(o => o.Name), Is.EqualTo(new[] { "label", "score" }));
            Assert.That(request.Outputs![0].Parameters!["classification"].GetInt32(), Is.EqualTo(2));
            Assert.That(request.Outputs![1].Parameters, Is.Null);
        });
    }

    [Test]
    public void ParseRequest_UnknownTopLevelField_IsIgnored()
    {
        var request = Parse("""{"extra": {"a": [1, 2]}, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}""");

        Assert.That(request.Inputs, Has.Count.EqualTo(1));
    }

    [Test]
    public void ParseRequest_RequestedOutputWithoutName_Throws400()
    {
        string message = Fails("""{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}], "outputs": [{}]}""");

        Assert.That(message, Does.Contain("outputs[0]").And.Contain("'name'"));
    }

    [Test]
    public void ParseRequest_ParametersNotAnObject_Throws400()
    {
        Assert.That(Fails("""{"parameters": [1], "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"""),
            Does.Contain("'parameters'"));
    }

    [Test]
    public void ParseRequest_EscapedStrings_AreUnescaped()
    {
        var input = Parse(Tensor("s", "BYTES", "[2]", """["a\"b", "caf\u00e9"]""")).Inputs[0];

        Assert.That(input.Data.AsStrings().ToArray(), Is.EqualTo(new[] { "a\"b", "café" }));
    }

    [Test]
    public void ParseRequest_EmptyTensor_IsAllowed()
    {
        var input = Parse(Tensor("x", "FP32", "[0, 3]", "[]")).Inputs[0];

        Assert.That(input.Data.Length, Is.Zero);
    }

    [Test]
    public void ParseRequest_LargeFp32Tensor_AllocatesLittleBeyondTheTypedArray()
    {
        byte[] body = Encoding.UTF8.GetBytes(Tensor("x", "FP32", "[10000]", "[" + string.Join(",", Enumerable.Range(0, 10_000).Select(i => i * 0.5)) + "]"));
        InferenceJson.ParseRequest(body); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        var request = InferenceJson.ParseRequest(body);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(request.Inputs[0].Data.AsSingles()[9_999], Is.EqualTo(4999.5f));
        Assert.That(allocated, Is.LessThan(10_000 * sizeof(float) + 4_096), "bytes allocated beyond the 40 KB float[]");
    }

    [Test]
    public void TryGetInput_KnownAndUnknownNames_FindsOnlyTheKnown()
    {
        var request = Parse(Tensor("x", "FP32", "[1]", "[1]"));

        Assert.That(request.TryGetInput("x", out var x), Is.True);
        Assert.That(x!.Name, Is.EqualTo("x"));
        Assert.That(request.TryGetInput("y", out _), Is.False);
    }

    [Test]
    public async Task ParseRequestAsync_BodyUnderTheLimit_Parses()
    {
        byte[] body = Encoding.UTF8.GetBytes(Tensor("x", "FP32", "[1]", "[1]"));
        using var stream = new MemoryStream(body);

        var request = await InferenceJson.ParseRequestAsync(stream, body.Length, CancellationToken.None);

        Assert.That(request.Inputs[0].Name, Is.EqualTo("x"));
    }

    [Test]
    public void ParseRequestAsync_OversizedSeekableBody_Throws413()
    {
        byte[] body = Encoding.UTF8.GetBytes(Tensor("x", "FP32", "[1]", "[1]"));
        using var stream = new MemoryStream(body);

        var ex = Assert.ThrowsAsync<ServingException>(async () => await InferenceJson.ParseRequestAsync(stream, body.Length - 1, CancellationToken.None))!;

        Assert.That(ex.StatusCode, Is.EqualTo(413));
        Assert.That(ex.Message, Does.Contain($"{body.Length - 1} bytes"));
    }

    [Test]
    public void ParseRequestAsync_OversizedUnseekableBody_Throws413()
    {
        string data = "[" + string.Join(", ", Enumerable.Range(0, 50_000)) + "]";
        byte[] body = Encoding.UTF8.GetBytes(Tensor("x", "INT64", "[50000]", data));
        using var stream = new NonSeekableStream(body);

        var ex = Assert.ThrowsAsync<ServingException>(async () => await InferenceJson.ParseRequestAsync(stream, 100_000, CancellationToken.None))!;

        Assert.That(ex.StatusCode, Is.EqualTo(413));
    }

    [Test]
    public async Task ParseRequestAsync_LargeUnseekableBodyUnderTheLimit_ReadsInChunks()
    {
        string data = "[" + string.Join(", ", Enumerable.Range(0, 50_000)) + "]";
        byte[] body = Encoding.UTF8.GetBytes(Tensor("x", "INT64", "[50000]", data));
        using var stream = new NonSeekableStream(body);

        var request = await InferenceJson.ParseRequestAsync(stream, body.Length, CancellationToken.None);

        Assert.That(request.Inputs[0].Data.AsInt64()[49_999], Is.EqualTo(49_999));
    }

    [Test]
    public void ParseRequestAsync_InvalidBody_Throws400()
    {
        using var stream = new MemoryStream("{"u8.ToArray());

        var ex = Assert.ThrowsAsync<ServingException>(async () => await InferenceJson.ParseRequestAsync(stream, 1000, CancellationToken.None))!;

        Assert.That(ex.StatusCode, Is.EqualTo(400));
    }

    private sealed class NonSeekableStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 4096));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
