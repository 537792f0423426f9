using System.Text.Json;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.Online;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Vectors;
using MLOps.Serving.Enrichment;
using MLOps.Serving.Graphs;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests.Enrichment;

public class FeatureEnrichmentStepTests
{
    private const string VectorName = "delay_features";
    private TempFolder _folder = null!;
    private string _home = null!;
    private MLOpsProject _project = null!;
    private OnlineFeatureService _online = null!;
    private string[] _origins = null!;

    [OneTimeSetUp]
    public async Task OneTimeSetUp()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "flights-20k.json");
        using (var doc = JsonDocument.Parse(File.ReadAllText(path)))
            _origins = doc.RootElement.EnumerateArray().Select(e => e.GetProperty("origin").GetString()!).Distinct().Take(5).ToArray();
        _folder = new TempFolder();
        _home = _folder.Path;
        _project = await MLOpsProject.Configure("test").UseHome(_home).CaptureGit(false).OpenAsync();
        var fs = _project.FeatureStore;
        var delays = fs.FeatureSet("flight_delays")
            .Entity("origin").Timestamp("date")
            .Aggregate("delay", AggregationOp.Avg, "1h")
            .Build();
        await fs.IngestAsync(delays, DataSource.Json(path));
        await fs.Vector(VectorName).Select("flight_delays.delay_avg_1h", "flight_delays.distance", "flight_delays.destination").SaveAsync();
        _online = await fs.GetOnlineServiceAsync(VectorName);
    }

    [OneTimeTearDown]
    public async Task OneTimeTearDown()
    {
        await _online.DisposeAsync();
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    private ServingGraph EchoGraph() => ServingGraph.Flow("enrich-graph")
        .To(new FeatureEnrichmentStep(_project.FeatureStore, VectorName))
        .To("model", e => e)
        .Build();

    private static void AssertTensorMatches(InferenceTensor tensor, FeatureValue expected, int i)
    {
        switch (expected.Type)
        {
            case FeatureType.Double:
                Assert.That(tensor.DataType, Is.EqualTo(TensorDataType.Fp64));
                Assert.That(tensor.Data.AsDoubles()[i], Is.EqualTo(expected.AsDouble()), tensor.Name);
                break;
            case FeatureType.String:
                Assert.That(tensor.DataType, Is.EqualTo(TensorDataType.Bytes));
                Assert.That(tensor.Data.AsStrings()[i], Is.EqualTo(expected.Text ?? ""), tensor.Name);
                break;
            case FeatureType.Boolean:
                Assert.That(tensor.DataType, Is.EqualTo(TensorDataType.Bool));
                Assert.That(tensor.Data.AsBooleans()[i], Is.EqualTo(!expected.IsNull && expected.Integer != 0), tensor.Name);
                break;
            default:
                Assert.That(tensor.DataType, Is.EqualTo(TensorDataType.Int64));
                Assert.That(tensor.Data.AsInt64()[i], Is.EqualTo(expected.IsNull ? 0 : expected.Integer), tensor.Name);
                break;
        }
    }

    [Test]
    public async Task Enrich_TensorRequest_AppendsFeaturesEqualToOnlineLookup()
    {
        await using var graph = EchoGraph();
        var parameters = new Dictionary<string, JsonElement> { ["p"] = JsonDocument.Parse("1").RootElement.Clone() };
        var request = new InferenceRequest { Id = "req-1", Parameters = parameters, Inputs = [InferenceTensor.Strings("origin", _origins)] };

        var response = await graph.InvokeAsync(new ServingEvent(request, id: "e1"));

        Assert.That(response.Id, Is.EqualTo("e1"));
        var enriched = (InferenceRequest)response.Body!;
        Assert.That(enriched.Id, Is.EqualTo("req-1"));
        Assert.That(enriched.Parameters, Is.SameAs(parameters));
        Assert.That(enriched.Inputs.Select(t => t.Name), Is.EqualTo(new[] { "origin" }.Concat(_online.Columns.Select(c => c.Name))));
        for (int i = 0; i < _origins.Length; i++)
        {
            var row = await _online.GetAsync(new Dictionary<string, object> { ["origin"] = _origins[i] });
            Assert.That(row.Found, Is.True, _origins[i]);
            for (int c = 0; c < _online.Columns.Count; c++)
            {
                Assert.That(enriched.TryGetInput(_online.Columns[c].Name, out var tensor), Is.True);
                Assert.That(tensor!.Shape.ToArray(), Is.EqualTo(new long[] { _origins.Length }));
                AssertTensorMatches(tensor, row.Values[c], i);
            }
        }
    }

    [Test]
    public async Task Enrich_UnknownOrigin_DoubleFeatureIsNaN()
    {
        await using var graph = EchoGraph();
        var request = new InferenceRequest { Inputs = [InferenceTensor.Strings("origin", [_origins[0], "ZZZ-UNKNOWN"])] };

        var enriched = (InferenceRequest)(await graph.InvokeAsync(new ServingEvent(request))).Body!;

        Assert.That(enriched.TryGetInput("delay_avg_1h", out var avg), Is.True);
        Assert.That(avg!.DataType, Is.EqualTo(TensorDataType.Fp64));
        Assert.That(double.IsNaN(avg.Data.AsDoubles()[0]), Is.False);
        Assert.That(double.IsNaN(avg.Data.AsDoubles()[1]), Is.True);
    }

    [Test]
    public async Task Enrich_MissingKeyTensor_Throws400NamingIt()
    {
        await using var graph = EchoGraph();
        var request = new InferenceRequest { Inputs = [InferenceTensor.Doubles("distance", [100.0])] };

        var e = Assert.ThrowsAsync<ServingException>(async () => await graph.InvokeAsync(new ServingEvent(request)))!;

        Assert.That(e.StatusCode, Is.EqualTo(400));
        Assert.That(e.Message, Does.Contain("'origin'"));
    }

    [Test]
    public async Task Enrich_CallerProvidedFeature_IsNotOverwritten()
    {
        await using var graph = EchoGraph();
        var request = new InferenceRequest
        {
            Inputs = [InferenceTensor.Strings("origin", _origins[..2]), InferenceTensor.Doubles("delay_avg_1h", [-1.0, -2.0])],
        };

        var enriched = (InferenceRequest)(await graph.InvokeAsync(new ServingEvent(request))).Body!;

        Assert.That(enriched.Inputs.Count(t => t.Name == "delay_avg_1h"), Is.EqualTo(1));
        Assert.That(enriched.TryGetInput("delay_avg_1h", out var avg), Is.True);
        Assert.That(avg!.Data.AsDoubles().ToArray(), Is.EqualTo(new[] { -1.0, -2.0 }));
        Assert.That(enriched.TryGetInput("distance", out _), Is.True);
    }

    [Test]
    public async Task Enrich_KeyedRows_AddsFeatureValuesToEachRow()
    {
        await using var graph = EchoGraph();
        var rows = new RowsRequest(RowsFormat.Objects,
        [
            new InferenceRow([RowValue.FromString(_origins[0]), RowValue.FromNumber(7)], ["origin", "hour"]),
            new InferenceRow([RowValue.FromString(_origins[1]), RowValue.FromNumber(99)], ["origin", "delay_avg_1h"]),
            new InferenceRow([RowValue.FromString("ZZZ-UNKNOWN")], ["origin"]),
        ]);
        var request = new InferenceRequest { Id = "rows", Rows = rows };

        var enriched = (InferenceRequest)(await graph.InvokeAsync(new ServingEvent(request))).Body!;

        Assert.That(enriched.Id, Is.EqualTo("rows"));
        Assert.That(enriched.Rows!.Format, Is.EqualTo(RowsFormat.Objects));
        var first = enriched.Rows.Rows[0].ToDictionary();
        var expected = await _online.GetAsync(new Dictionary<string, object> { ["origin"] = _origins[0] });
        Assert.That(first["hour"], Is.EqualTo(RowValue.FromNumber(7)));
        Assert.That(first["delay_avg_1h"].Number, Is.EqualTo(expected.GetDouble("delay_avg_1h")));
        Assert.That(first["distance"].Number, Is.EqualTo(expected.GetDouble("distance")));
        Assert.That(first["destination"].String, Is.EqualTo(expected.GetString("destination")));
        Assert.That(enriched.Rows.Rows[1].ToDictionary()["delay_avg_1h"], Is.EqualTo(RowValue.FromNumber(99)));
        Assert.That(enriched.Rows.Rows[1].Names!.Count(n => n == "delay_avg_1h"), Is.EqualTo(1));
        Assert.That(enriched.Rows.Rows[2].ToDictionary()["delay_avg_1h"].IsNull, Is.True);
    }

    [Test]
    public async Task Enrich_PositionalRows_Throws400()
    {
        await using var graph = EchoGraph();
        var request = new InferenceRequest { Rows = new RowsRequest(RowsFormat.Lists, [new InferenceRow([RowValue.FromString(_origins[0])])]) };

        var e = Assert.ThrowsAsync<ServingException>(async () => await graph.InvokeAsync(new ServingEvent(request)))!;

        Assert.That(e.StatusCode, Is.EqualTo(400));
    }
}
