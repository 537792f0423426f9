using System.Globalization;
using System.Text;
using System.Text.Json;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests.Protocol;

public class FlightsRequestTests
{
    private sealed record Flight(string Date, int Delay, int Distance, string Origin, string Destination);

    private static Flight[] LoadFlights(int count)
    {
        string path = Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "flights-20k.json");
        using var stream = File.OpenRead(path);
        var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
        return JsonSerializer.Deserialize<Flight[]>(stream, options)!.Take(count).ToArray();
    }

    private static long Hour(Flight flight) =>
        DateTime.ParseExact(flight.Date, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture).Hour;

    [Test]
    public void ParseRequest_HundredFlightsAsTensors_ReadsEveryColumn()
    {
        var flights = LoadFlights(100);
        string json = $$"""
            {"id": "batch-1", "inputs": [
              {"name": "distance", "shape": [100], "datatype": "FP32", "data": [{{string.Join(",", flights.Select(f => f.Distance))}}]},
              {"name": "origin", "shape": [100], "datatype": "BYTES", "data": [{{string.Join(",", flights.Select(f => $"\"{f.Origin}\""))}}]},
              {"name": "hour", "shape": [100, 1], "datatype": "INT64", "data": [{{string.Join(",", flights.Select(f => $"[{Hour(f)}]"))}}]}
            ]}
            """;

        var request = InferenceJson.ParseRequest(Encoding.UTF8.GetBytes(json));

        Assert.That(request.TryGetInput("distance", out var distance) && request.TryGetInput("origin", out _) && request.TryGetInput("hour", out _), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(request.Id, Is.EqualTo("batch-1"));
            Assert.That(distance!.Data.AsSingles().ToArray(), Is.EqualTo(flights.Select(f => (float)f.Distance).ToArray()));
            Assert.That(request.Inputs[1].Data.AsStrings().ToArray(), Is.EqualTo(flights.Select(f => f.Origin).ToArray()));
            Assert.That(request.Inputs[2].Shape.ToArray(), Is.EqualTo(new long[] { 100, 1 }));
            Assert.That(request.Inputs[2].Data.AsInt64().ToArray(), Is.EqualTo(flights.Select(Hour).ToArray()));
            Assert.That(flights[0].Origin, Is.EqualTo("DTW"));
            Assert.That(request.Inputs[0].Data.AsSingles()[0], Is.EqualTo(1750f));
        });
    }

    [Test]
    public void SerializeRequest_HundredFlights_RoundTripsAndTheResponseKeepsTheId()
    {
        var flights = LoadFlights(100);
        var request = new InferenceRequest
        {
            Id = "batch-2",
            Inputs =
            [
                InferenceTensor.Singles("distance", flights.Select(f => (float)f.Distance).ToArray()),
                InferenceTensor.Strings("origin", flights.Select(f => f.Origin).ToArray()),
                InferenceTensor.Int64("hour", flights.Select(Hour).ToArray()),
            ],
        };

        var parsed = InferenceJson.ParseRequest(InferenceJson.SerializeRequest(request));
        var response = InferenceResponse.For(parsed, "delay", "1",
            [InferenceTensor.Singles("predicted_delay", flights.Select(f => (float)f.Delay).ToArray())]);
        var echoed = InferenceJson.ParseResponse(InferenceJson.SerializeResponse(response));

        Assert.Multiple(() =>
        {
            Assert.That(parsed.Inputs.Select(i => (i.Name, i.DataType, i.Data.Length)),
                Is.EqualTo(new[] { ("distance", TensorDataType.Fp32, 100), ("origin", TensorDataType.Bytes, 100), ("hour", TensorDataType.Int64, 100) }));
            Assert.That(parsed.Inputs[1].Data.AsStrings().ToArray(), Is.EqualTo(request.Inputs[1].Data.AsStrings().ToArray()));
            Assert.That(echoed.Id, Is.EqualTo("batch-2"));
            Assert.That(echoed.ModelName, Is.EqualTo("delay"));
            Assert.That(echoed.Outputs[0].Data.AsSingles()[0], Is.EqualTo(66f));
        });
    }

    [Test]
    public void ParseRequest_HundredFlightsAsRows_ReadsThemByFeatureName()
    {
        var flights = LoadFlights(100);
        var rows = flights.Select(f => new Dictionary<string, object> { ["distance"] = f.Distance, ["origin"] = f.Origin, ["hour"] = Hour(f) });
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(new { inputs = rows });

        var request = InferenceJson.ParseRequest(json);

        Assert.That(request.Rows!.Count, Is.EqualTo(100));
        Assert.That(request.Rows.Rows.Select(r => r.TryGetValue("origin", out var o) ? o.String : null), Is.EqualTo(flights.Select(f => f.Origin)));
        Assert.That(request.Rows.Rows[1].TryGetValue("distance", out var d) ? d.Number : 0, Is.EqualTo(2399));
    }
}
