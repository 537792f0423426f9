using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps.Registry;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Tests.TestSupport;

namespace MLOps.Serving.Tests.Models;

public sealed class MLNetModelTests
{
    private const string Uri = "store://models/flights/delay:production";
    private static readonly Lazy<TrainedModels> s_models = new(Train);

    private TempFolder _folder = null!;
    private string _home = null!;
    private MLOpsProject _project = null!;
    private MLNetModel<FlightFeatures, DelayPrediction> _model = null!;
    private ServingRouter _graph = null!;
    private InferenceServer _server = null!;

    public sealed class Flight
    {
        [ColumnName("distance")] public float Distance { get; set; }
        [ColumnName("hour")] public float Hour { get; set; }
        [ColumnName("delayed")] public bool Delayed { get; set; }
    }

    public sealed class FlightFeatures
    {
        [ColumnName("distance")] public float Distance { get; set; }
        [ColumnName("hour")] public float Hour { get; set; }
    }

    public class DistanceOnly
    {
        [ColumnName("distance")] public float Distance { get; set; }
    }

    public sealed class InheritedFeatures : DistanceOnly
    {
        [ColumnName("hour")] public float Hour { get; set; }
    }

    public class ProbabilityOnly
    {
        public float Probability { get; set; }
    }

    public sealed class InheritedPrediction : ProbabilityOnly
    {
        public bool PredictedLabel { get; set; }
    }

    public sealed class DelayPrediction
    {
        public bool PredictedLabel { get; set; }
        public float Score { get; set; }
        public float Probability { get; set; }
    }

    public sealed class AllTypes
    {
        public float F { get; set; }
        public double D { get; set; }
        public int I { get; set; }
        public long L { get; set; }
        public bool B { get; set; }
        public string S { get; set; } = "";
        [VectorType(3)] public float[] V { get; set; } = [];
        [ColumnName("renamed")] public float Named { get; set; }
        [NoColumn] public float Ignored { get; set; }
        public float ReadOnly => 1f;
    }

    public sealed class Unsupported
    {
        public DateTime When { get; set; }
    }

    private sealed record TrainedModels(ITransformer Small, ITransformer Large, DataViewSchema Schema, IReadOnlyList<FlightFeatures> Inputs);

    private static TrainedModels Train()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "flights-20k.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var rows = doc.RootElement.EnumerateArray().Select(e => new Flight
        {
            Distance = e.GetProperty("distance").GetInt32(),
            Hour = DateTime.ParseExact(e.GetProperty("date").GetString()!, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture).Hour,
            Delayed = e.GetProperty("delay").GetInt32() > 15,
        }).ToList();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows.Take(3000));
        var features = ml.Transforms.Concatenate("Features", "distance", "hour");
        var small = features.Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "delayed", numberOfLeaves: 2, numberOfTrees: 3, minimumExampleCountPerLeaf: 50)).Fit(data);
        var large = features.Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "delayed", numberOfLeaves: 16, numberOfTrees: 30, minimumExampleCountPerLeaf: 5)).Fit(data);
        var inputs = rows.Skip(10_000).Take(100).Select(r => new FlightFeatures { Distance = r.Distance, Hour = r.Hour }).ToList();
        return new TrainedModels(small, large, data.Schema, inputs);
    }

    private static TrainedModels Models => s_models.Value;

    [SetUp]
    public async Task SetUp()
    {
        _folder = new TempFolder();
        _home = _folder.Path;
        _project = await MLOpsProject.Configure("flights").UseHome(_home).CaptureGit(false).OpenAsync();
        await _project.Models.RegisterAsync("delay", Models.Small, Models.Schema, new ModelLogOptions { Aliases = { "production" } });
        await _project.Models.RegisterAsync("delay", Models.Large, Models.Schema);
        _model = MLNetModel.Create<FlightFeatures, DelayPrediction>(_project, "delay", Uri);
        _graph = ServingGraph.Router("flights").Route(new ModelStep(_model)).Build();
        _server = _graph.ToMockServer(_model);
        await _server.LoadAsync();
    }

    [TearDown]
    public async Task TearDown()
    {
        await _graph.DisposeAsync();
        await _model.DisposeAsync();
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<float[]> RegistryProbabilitiesAsync(int version)
    {
        using var predictor = await _project.Models.CreatePredictorAsync<FlightFeatures, DelayPrediction>("delay", version.ToString(CultureInfo.InvariantCulture));
        return [.. Models.Inputs.Select(i => predictor.Predict(i).Probability)];
    }

    private static InferenceRequest TensorRequest(string? id = null, IReadOnlyList<RequestedOutput>? outputs = null) => new()
    {
        Id = id,
        Inputs =
        [
            InferenceTensor.Singles("distance", [.. Models.Inputs.Select(i => i.Distance)]),
            InferenceTensor.Singles("hour", [.. Models.Inputs.Select(i => i.Hour)]),
        ],
        Outputs = outputs,
    };

    private Task<InferenceHttpResponse> PostAsync(string json) => _server.SendAsync("POST", "/v2/models/delay/infer", Encoding.UTF8.GetBytes(json)).AsTask();

    private Task<InferenceHttpResponse> PostAsync(InferenceRequest request) => _server.SendAsync("POST", "/v2/models/delay/infer", InferenceJson.SerializeRequest(request)).AsTask();

    private static JsonElement Json(InferenceHttpResponse response) => JsonDocument.Parse(response.Body).RootElement.Clone();

    private static float[] Probabilities(InferenceHttpResponse response)
    {
        Assert.That(response.StatusCode, Is.EqualTo(200), response.Text);
        var output = Json(response).GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "Probability");
        return [.. output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];
    }

    private static string F(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- metadata

    [Test]
    public async Task Metadata_FlightModel_ListsInputsOutputsAndVersion()
    {
        var response = await _server.SendAsync("GET", "/v2/models/delay");
        var json = Json(response);

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Text);
        Assert.That(json.GetProperty("name").GetString(), Is.EqualTo("delay"));
        Assert.That(json.GetProperty("platform").GetString(), Is.EqualTo("mlnet"));
        Assert.That(json.GetProperty("versions").EnumerateArray().Select(v => v.GetString()), Is.EqualTo(new[] { "1" }));
        Assert.That(json.GetProperty("inputs").EnumerateArray().Select(i => $"{i.GetProperty("name").GetString()} {i.GetProperty("datatype").GetString()} {i.GetProperty("shape")}"),
            Is.EqualTo(new[] { "distance FP32 [-1]", "hour FP32 [-1]" }));
        Assert.That(json.GetProperty("outputs").EnumerateArray().Select(i => $"{i.GetProperty("name").GetString()} {i.GetProperty("datatype").GetString()}"),
            Is.EqualTo(new[] { "PredictedLabel BOOL", "Score FP32", "Probability FP32" }));
        Assert.That(_model.Version, Is.EqualTo("1"));
        Assert.That(_model.IsReady, Is.True);
    }

    [Test]
    public void Metadata_AllPropertyTypes_MapsDatatypesNamesAndVectorShapes()
    {
        var model = MLNetModel.Create<AllTypes, DelayPrediction>(_project, "all", Uri);

        var inputs = model.Metadata.Inputs.Select(i => $"{i.Name} {i.DataType.ToProtocolName()} [{string.Join(", ", i.Shape)}]");

        Assert.That(inputs, Is.EqualTo(new[]
        {
            "F FP32 [-1]", "D FP64 [-1]", "I INT32 [-1]", "L INT64 [-1]", "B BOOL [-1]", "S BYTES [-1]", "V FP32 [-1, 3]", "renamed FP32 [-1]",
        }));
        Assert.That(model.IsReady, Is.False);
        Assert.That(model.Version, Is.Null);
        Assert.That(model.Metadata.Versions, Is.Empty);
    }

    [Test]
    public void Create_UnsupportedPropertyType_ThrowsNamingProperty()
    {
        var e = Assert.Throws<ArgumentException>(() => MLNetModel.Create<Unsupported, DelayPrediction>(_project, "bad", Uri));

        Assert.That(e!.Message, Does.Contain("Unsupported.When").And.Contain("DateTime"));
    }

    [Test]
    public async Task LoadAsync_Twice_KeepsTheSameHandle()
    {
        var handle = _model.Handle;

        await _model.LoadAsync(CancellationToken.None);

        Assert.That(_model.Handle, Is.SameAs(handle));
    }

    // ---------------------------------------------------------------- inference

    [Test]
    public async Task InferAsync_V2TensorsOf100Flights_SameProbabilitiesAsRegistryPredictor()
    {
        var expected = await RegistryProbabilitiesAsync(1);

        var response = await _server.InferAsync("delay", TensorRequest("req-1"));

        Assert.That(response.Id, Is.EqualTo("req-1"));
        Assert.That(response.ModelName, Is.EqualTo("delay"));
        Assert.That(response.ModelVersion, Is.EqualTo("1"));
        Assert.That(response.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "PredictedLabel", "Score", "Probability" }));
        Assert.That(response.TryGetOutput("Probability", out var probability), Is.True);
        Assert.That(probability!.Shape.ToArray(), Is.EqualTo(new long[] { 100 }));
        Assert.That(probability.Data.AsSingles().ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public async Task InferAsync_RowTypesWithInheritedProperties_MapsBaseAndDerivedProperties()
    {
        var expected = await RegistryProbabilitiesAsync(1);
        await using var model = MLNetModel.Create<InheritedFeatures, InheritedPrediction>(_project, "inherited", Uri);
        await model.LoadAsync(CancellationToken.None);

        var response = await model.InferAsync(TensorRequest(), CancellationToken.None);

        Assert.That(model.Metadata.Inputs.Select(i => i.Name), Is.EquivalentTo(new[] { "distance", "hour" }));
        Assert.That(response.TryGetOutput("Probability", out var probability), Is.True);
        Assert.That(probability!.Data.AsSingles().ToArray(), Is.EqualTo(expected));
        Assert.That(response.TryGetOutput("PredictedLabel", out var label), Is.True);
        using var predictor = await _project.Models.CreatePredictorAsync<FlightFeatures, DelayPrediction>("delay", "1");
        Assert.That(label!.Data.AsBooleans().ToArray(), Is.EqualTo(Models.Inputs.Select(i => predictor.Predict(i).PredictedLabel).ToArray()));
    }

    [Test]
    public async Task SendAsync_V2JsonRequest_SameProbabilitiesAsRegistryPredictor()
    {
        var expected = await RegistryProbabilitiesAsync(1);

        var response = await PostAsync(TensorRequest());

        Assert.That(Probabilities(response), Is.EqualTo(expected));
        Assert.That(Json(response).GetProperty("model_version").GetString(), Is.EqualTo("1"));
    }

    [Test]
    public async Task SendAsync_RowsAsLists_SameProbabilities()
    {
        var expected = await RegistryProbabilitiesAsync(1);
        var json = "{\"inputs\": [" + string.Join(", ", Models.Inputs.Select(i => $"[{F(i.Distance)}, {F(i.Hour)}]")) + "]}";

        var response = await PostAsync(json);

        Assert.That(Probabilities(response), Is.EqualTo(expected));
    }

    [Test]
    public async Task SendAsync_RowsAsObjects_SameProbabilities()
    {
        var expected = await RegistryProbabilitiesAsync(1);
        var json = "{\"inputs\": [" + string.Join(", ", Models.Inputs.Select(i => $"{{\"hour\": {F(i.Hour)}, \"distance\": {F(i.Distance)}}}")) + "]}";

        var response = await PostAsync(json);

        Assert.That(Probabilities(response), Is.EqualTo(expected));
    }

    [Test]
    public async Task InferAsync_RequestedOutputs_OnlyThoseReturned()
    {
        var response = await _server.InferAsync("delay", TensorRequest(outputs: [new RequestedOutput("Probability"), new RequestedOutput("PredictedLabel")]));

        Assert.That(response.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "Probability", "PredictedLabel" }));
        Assert.That(response.Outputs.Select(o => o.Shape[0]), Is.All.EqualTo(100));
    }

    [Test]
    public async Task InferAsync_IntegerTensorForFloatFeature_Converts()
    {
        var request = new InferenceRequest
        {
            Inputs = [InferenceTensor.Int64("distance", [1000, 2500]), InferenceTensor.Doubles("hour", [9, 18])],
        };
        using var predictor = await _project.Models.CreatePredictorAsync<FlightFeatures, DelayPrediction>("delay", "1");
        var expected = new[] { predictor.Predict(new FlightFeatures { Distance = 1000, Hour = 9 }).Probability, predictor.Predict(new FlightFeatures { Distance = 2500, Hour = 18 }).Probability };

        var response = await _server.InferAsync("delay", request);

        Assert.That(response.TryGetOutput("Probability", out var probability), Is.True);
        Assert.That(probability!.Data.AsSingles().ToArray(), Is.EqualTo(expected));
    }

    // ---------------------------------------------------------------- bad inputs

    private static readonly object[] s_badRequests =
    [
        new object[] { "missing input", """{"inputs": [{"name": "distance", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}""", new[] { "Missing input 'hour'", "distance (FP32), hour (FP32)" } },
        new object[] { "unknown input", """{"inputs": [{"name": "distance", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "hour", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "origin", "shape": [1], "datatype": "BYTES", "data": ["SFO"]}]}""", new[] { "Unknown input 'origin'" } },
        new object[] { "wrong datatype", """{"inputs": [{"name": "distance", "shape": [1], "datatype": "BYTES", "data": ["far"]}, {"name": "hour", "shape": [1], "datatype": "FP32", "data": [1]}]}""", new[] { "Input 'distance' has datatype BYTES", "FP32" } },
        new object[] { "batch lengths", """{"inputs": [{"name": "distance", "shape": [2], "datatype": "FP32", "data": [1, 2]}, {"name": "hour", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]}]}""", new[] { "Input 'hour' has a batch length of 3", "'distance' has 2", "same batch length" } },
        new object[] { "scalar among batch", """{"inputs": [{"name": "distance", "shape": [], "datatype": "FP32", "data": [1]}, {"name": "hour", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}""", new[] { "Input 'distance' has shape []", "[N]" } },
        new object[] { "batch among scalar", """{"inputs": [{"name": "distance", "shape": [2], "datatype": "FP32", "data": [1, 2]}, {"name": "hour", "shape": [], "datatype": "FP32", "data": [1]}]}""", new[] { "Input 'hour' has shape []", "[N]" } },
        new object[] { "all scalars", """{"inputs": [{"name": "distance", "shape": [], "datatype": "FP32", "data": [1]}, {"name": "hour", "shape": [], "datatype": "FP32", "data": [1]}]}""", new[] { "Input 'distance' has shape []", "shape [1]" } },
        new object[] { "mixed nesting", """{"inputs": [{"name": "distance", "shape": [2, 1], "datatype": "FP32", "data": [[1], 2]}, {"name": "hour", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}""", new[] { "Input 'distance' (inputs[0])", "data[1]", "nested" } },
        new object[] { "nested vs flat batch", """{"inputs": [{"name": "distance", "shape": [2, 1], "datatype": "FP32", "data": [[1], [2]]}, {"name": "hour", "shape": [1], "datatype": "FP32", "data": [1]}]}""", new[] { "Input 'hour' has a batch length of 1", "'distance' has 2" } },
        new object[] { "row length", """{"inputs": [[1000, 9], [2500]]}""", new[] { "Row 1 has 1 values", "takes 2", "distance (FP32), hour (FP32)" } },
        new object[] { "string for number", """{"inputs": [[1000, 9], ["far", 18]]}""", new[] { "Row 1, input 'distance'", "\"far\" is not a number" } },
        new object[] { "object missing key", """{"inputs": [{"distance": 1000}]}""", new[] { "Row 0 is missing input 'hour'" } },
        new object[] { "object unknown key", """{"inputs": [{"distance": 1000, "hour": 9, "origin": "SFO"}]}""", new[] { "Row 0 has unknown input 'origin'" } },
        new object[] { "unknown output", """{"inputs": [[1000, 9]], "outputs": [{"name": "Margin"}]}""", new[] { "no output 'Margin'", "Probability (FP32)" } },
    ];

    [TestCaseSource(nameof(s_badRequests))]
    public async Task SendAsync_BadRequest_Answers400NamingInputAndRule(string rule, string json, string[] fragments)
    {
        var response = await PostAsync(json);

        Assert.That(response.StatusCode, Is.EqualTo(400), $"{rule}: {response.Text}");
        var error = Json(response).GetProperty("error").GetString();
        foreach (var fragment in fragments)
            Assert.That(error, Does.Contain(fragment), rule);
    }

    [Test]
    public void InferAsync_NotLoaded_Throws503()
    {
        var model = MLNetModel.Create<FlightFeatures, DelayPrediction>(_project, "cold", Uri);

        var e = Assert.ThrowsAsync<ServingException>(async () => await model.InferAsync(TensorRequest(), CancellationToken.None));

        Assert.That(e!.StatusCode, Is.EqualTo(503));
    }

    // ---------------------------------------------------------------- upgrades

    /// <summary>Runs <paramref name="change"/> while 8 clients post requests (40 before, 40 after); returns the
    /// failures (non-200 answers, a version going backwards) and the versions that answered.</summary>
    private async Task<(string[] Failures, string[] Versions)> UnderLoadAsync(Func<Task> change)
    {
        var body = InferenceJson.SerializeRequest(TensorRequest());
        var failures = new ConcurrentQueue<string>();
        var versions = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        int requests = 0;

        async Task ClientAsync()
        {
            string last = "1";
            while (!stop.IsCancellationRequested)
            {
                var response = await _server.SendAsync("POST", "/v2/models/delay/infer", body);
                Interlocked.Increment(ref requests);
                if (response.StatusCode != 200)
                {
                    failures.Enqueue(response.Text);
                    continue;
                }
                var version = Json(response).GetProperty("model_version").GetString()!;
                if (string.CompareOrdinal(version, last) < 0) failures.Enqueue($"went back from version {last} to {version}");
                last = version;
                versions.Enqueue(version);
                await Task.Yield();
            }
        }

        var clients = Enumerable.Range(0, 8).Select(_ => Task.Run(ClientAsync)).ToArray();
        while (Volatile.Read(ref requests) < 40) await Task.Delay(5);
        await change();
        int after = Volatile.Read(ref requests);
        while (Volatile.Read(ref requests) < after + 40) await Task.Delay(5);
        await stop.CancelAsync();
        await Task.WhenAll(clients);
        return ([.. failures], [.. versions.Distinct().Order()]);
    }

    [Test]
    public async Task RefreshAsync_AliasMovedUnderLoad_SwitchesVersionWithoutAFailedRequest()
    {
        var expectedV2 = await RegistryProbabilitiesAsync(2);
        bool swapped = false;

        var (failures, versions) = await UnderLoadAsync(async () =>
        {
            await _project.Models.SetAliasAsync("delay", "production", 2);
            swapped = await _model.RefreshAsync();
        });

        Assert.That(swapped, Is.True);
        Assert.That(failures, Is.Empty);
        Assert.That(versions, Is.EqualTo(new[] { "1", "2" }));
        Assert.That(_model.Version, Is.EqualTo("2"));
        Assert.That(_model.Metadata.Versions, Is.EqualTo(new[] { "2" }));
        var response = await PostAsync(TensorRequest());
        Assert.That(Json(response).GetProperty("model_version").GetString(), Is.EqualTo("2"));
        Assert.That(Probabilities(response), Is.EqualTo(expectedV2));
    }

    [Test]
    public async Task DeployAsync_VersionByHandUnderLoad_SwitchesWithoutAFailedRequestAndFollowsTheNewUri()
    {
        var expectedV2 = await RegistryProbabilitiesAsync(2);
        bool deployed = false;

        var (failures, versions) = await UnderLoadAsync(async () => deployed = await _model.DeployAsync("store://models/flights/delay:2"));

        Assert.That(deployed, Is.True);
        Assert.That(failures, Is.Empty);
        Assert.That(versions, Is.EqualTo(new[] { "1", "2" }));
        Assert.That(_model.Uri, Is.EqualTo("store://models/flights/delay:2"));
        Assert.That(Probabilities(await PostAsync(TensorRequest())), Is.EqualTo(expectedV2));
        // The production alias still points at version 1, but the model now follows its new URI.
        Assert.That(await _model.RefreshAsync(), Is.False);
        Assert.That(_model.Version, Is.EqualTo("2"));
    }

    [Test]
    public async Task DeployAsync_UnknownVersion_ThrowsAndKeepsServingTheCurrentVersion()
    {
        var ex = Assert.ThrowsAsync<NotFoundException>(() => _model.DeployAsync("store://models/flights/delay:9"));

        Assert.That(ex!.Message, Does.Contain("9"));
        Assert.That(_model.Version, Is.EqualTo("1"));
        Assert.That(_model.Uri, Is.EqualTo(Uri));
        Assert.That((await PostAsync(TensorRequest())).StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task DeployAsync_SameVersion_ReturnsFalse()
    {
        Assert.That(await _model.DeployAsync("store://models/flights/delay:1"), Is.False);
        Assert.That(_model.Uri, Is.EqualTo("store://models/flights/delay:1"));
        Assert.That(_model.Version, Is.EqualTo("1"));
    }

    [Test]
    public async Task RefreshAsync_AliasUnchanged_ReturnsFalse()
    {
        Assert.That(await _model.RefreshAsync(), Is.False);
        Assert.That(_model.Version, Is.EqualTo("1"));
    }
}
