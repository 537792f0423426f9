using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using MLOps.Registry;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Tests.Models;
using MLOps.Serving.Tests.TestSupport;

namespace MLOps.Serving.Tests.Hosting;

/// <summary>
/// Fuzzes the Open Inference Protocol endpoints with seeded mutations of valid V2 tensor bodies and MLRun rows bodies
/// (<see cref="V2BodyFuzzer"/>), against a router graph serving a real ML.NET model of the registry (a FastTree delay
/// classifier trained on the real flights) and a custom explainable model: in process (the mock server) and over real
/// Kestrel. Every answer must be below 500, every 4xx an <c>{"error": "..."}</c> body, every 200 a response body; the
/// server must stay ready and answer a valid request afterwards. Seed <see cref="DefaultSeed"/> (or <c>MLOPS_FUZZ_SEED</c>); case <c>i</c> is replayed with
/// <c>new V2BodyFuzzer(Seed, Seeds).Case(i)</c>, and a failure prints the seed, the case, its mutations and the body.
/// </summary>
[NonParallelizable]
public sealed class ProtocolFuzzTests
{
    /// <summary>The default fuzzing seed; a failure names the seed it ran with.</summary>
    public const int DefaultSeed = 20_261_207;

    /// <summary>The seed of this run: <see cref="DefaultSeed"/>, or the integer in the environment variable
    /// <c>MLOPS_FUZZ_SEED</c> to explore other bodies (or replay a reported failure).</summary>
    public static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("MLOPS_FUZZ_SEED"), out int seed) ? seed : DefaultSeed;

    private const int InProcessCases = 10_000;
    private const int HttpCases = 2_000;

    /// <summary>Valid bodies: V2 tensors, rows as lists and as objects for the ML.NET model, V2 tensors for the custom model's infer and explain.</summary>
    public static readonly IReadOnlyList<FuzzSeed> Seeds =
    [
        new("/v2/models/delay/infer", """{"id": "f-1", "parameters": {"content_type": "np"}, "inputs": [{"name": "Distance", "shape": [2], "datatype": "FP32", "data": [1000, 2500]}, {"name": "Hour", "shape": [2, 1], "datatype": "FP32", "data": [[9], [18]]}], "outputs": [{"name": "Probability"}]}"""),
        new("/v2/models/delay/infer", """{"inputs": [{"name": "Distance", "shape": [3], "datatype": "INT32", "data": [300, 1000, 2500]}, {"name": "Hour", "shape": [3], "datatype": "FP64", "data": [6, 9.5, 18]}]}"""),
        new("/v2/models/delay/infer", """{"inputs": [[1000, 9], [2500, 18]]}"""),
        new("/v2/models/delay/infer", """{"id": "rows", "inputs": [{"Distance": 1000, "Hour": 9}, {"Hour": 18, "Distance": 2500}]}"""),
        new("/v2/models/delay-risk/infer", """{"id": "c-1", "inputs": [{"name": "distance", "shape": [2], "datatype": "FP32", "data": [1000, 2500]}, {"name": "hour", "shape": [2], "datatype": "INT64", "data": [9, 18]}]}"""),
        new("/v2/models/delay-risk/explain", """{"id": "e-1", "inputs": [{"name": "distance", "shape": [2, 1], "datatype": "FP32", "data": [[1000], [2500]]}, {"name": "hour", "shape": [2], "datatype": "INT64", "data": [9, 18]}]}"""),
        new("/v2/models/delay-risk/infer", """{"inputs": [{"distance": 1000, "hour": 9}]}"""),
    ];

    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    private TempFolder _folder = null!;
    private MLOpsProject _project = null!;
    private MLNetModel<FlightInput, DelayPrediction> _mlnet = null!;
    private ExplainableRiskModel _custom = null!;
    private ServingRouter _graph = null!;
    private InferenceServer _server = null!;

    [OneTimeSetUp]
    public async Task OneTimeSetUp()
    {
        _folder = new TempFolder();
        _project = await TestProjects.OpenAsync(_folder, "flights");
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(FlightModels.Rows.Take(2000));
        var model = ml.Transforms.Concatenate("Features", nameof(Flight.Distance), nameof(Flight.Hour))
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: nameof(Flight.Label), numberOfLeaves: 4, numberOfTrees: 5, minimumExampleCountPerLeaf: 20))
            .Fit(data);
        await _project.Models.RegisterAsync("delay", model, data.Schema, new ModelLogOptions { Aliases = { "production" } });
        _mlnet = MLNetModel.Create<FlightInput, DelayPrediction>(_project, "delay", "store://models/flights/delay:production");
        _custom = new ExplainableRiskModel(new DelayRiskModel("delay-risk", "1")); // a custom model that explains its scores
        _graph = ServingGraph.Router("flights").Route(new ModelStep(_mlnet)).Route(new ModelStep(_custom)).Build();
        _server = _graph.ToMockServer(_mlnet, _custom);
        await _server.LoadAsync();
    }

    [OneTimeTearDown]
    public async Task OneTimeTearDown()
    {
        await _graph.DisposeAsync();
        await _mlnet.DisposeAsync();
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    [Test]
    public async Task SendAsync_SeedBodies_AllSucceed()
    {
        foreach (var seed in Seeds)
        {
            var response = await _server.SendAsync("POST", seed.Path, Encoding.UTF8.GetBytes(seed.Json));
            bool rowsForCustom = seed.Path.Contains("delay-risk", StringComparison.Ordinal) && seed.Json.Contains("\"inputs\": [{\"distance\"", StringComparison.Ordinal);
            Assert.That(response.StatusCode, Is.EqualTo(rowsForCustom ? 400 : 200), $"{seed.Path} {seed.Json}: {response.Text}");
        }
    }

    [Test]
    public async Task SendAsync_10000MutatedBodies_No5xxEveryErrorAJsonBodyAndServerHealthyAfter()
    {
        var fuzzer = new V2BodyFuzzer(Seed, Seeds);
        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        for (int i = 0; i < InProcessCases; i++)
        {
            var fuzz = fuzzer.Case(i);
            var response = await _server.SendAsync("POST", fuzz.Path, fuzz.Body);
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
            if (Problem(response.StatusCode, response.Body) is { } problem && failures.Count < 10)
                failures.Add($"{problem}\n  seed {Seed}, {fuzz.Describe()}\n  answer: {response.Text}");
        }

        TestContext.Out.WriteLine($"seed {Seed}, {InProcessCases} cases in process: {string.Join(", ", statuses.Select(s => $"{s.Key} x{s.Value}"))}");
        Assert.That(failures, Is.Empty, string.Join("\n\n", failures));
        Assert.That(statuses.Keys.Where(s => s is >= 400 and < 500), Is.Not.Empty, "the mutations must produce rejected bodies");
        await AssertHealthyInProcessAsync();
    }

    [Test]
    public async Task HttpHost_MutatedBodiesOverKestrel_No5xxEveryErrorAJsonBodyAndServerHealthyAfter()
    {
        await using var host = await _server.StartHttpAsync("http://127.0.0.1:0");
        using var client = host.CreateClient();
        // A different stretch of the same seed's cases than the in-process run (which covers 0..9,999).
        var fuzzer = new V2BodyFuzzer(Seed, Seeds);
        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        for (int i = InProcessCases; i < InProcessCases + HttpCases; i++)
        {
            var fuzz = fuzzer.Case(i);
            using var content = new ByteArrayContent(fuzz.Body);
            content.Headers.ContentType = JsonType;
            using var response = await client.PostAsync(fuzz.Path, content);
            var body = await response.Content.ReadAsByteArrayAsync();
            int status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            string? problem = Problem(status, body)
                ?? (response.Content.Headers.ContentType?.MediaType == "application/json" ? null : $"Content-Type {response.Content.Headers.ContentType}");
            if (problem is not null && failures.Count < 10)
                failures.Add($"{problem}\n  seed {Seed}, {fuzz.Describe()}\n  answer: {Encoding.UTF8.GetString(body)}");
        }

        TestContext.Out.WriteLine($"seed {Seed}, {HttpCases} cases over HTTP: {string.Join(", ", statuses.Select(s => $"{s.Key} x{s.Value}"))}");
        Assert.That(failures, Is.Empty, string.Join("\n\n", failures));
        Assert.That((await client.GetAsync("/v2/health/ready")).StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK));
        foreach (var seed in Seeds.Where(s => !s.Json.Contains("\"inputs\": [{\"distance\"", StringComparison.Ordinal)))
        {
            using var content = new StringContent(seed.Json, Encoding.UTF8, "application/json");
            using var response = await client.PostAsync(seed.Path, content);
            Assert.That((int)response.StatusCode, Is.EqualTo(200), $"{seed.Path}: {await response.Content.ReadAsStringAsync()}");
        }
        await AssertHealthyInProcessAsync();
    }

    /// <summary>What is wrong with an answer, or null: a 5xx, a 4xx without an <c>{"error": "..."}</c> body, a 200 that is not a response.</summary>
    private static string? Problem(int status, ReadOnlyMemory<byte> body)
    {
        if (status is < 200 or >= 500)
            return $"status {status}";
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(body);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return $"status {status} with a body that is not JSON ({e.Message})";
        }
        if (status >= 400)
        {
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error)
                   && error.ValueKind == JsonValueKind.String && error.GetString()!.Length > 0
                ? null
                : $"status {status} without an {{\"error\": \"...\"}} body";
        }
        try
        {
            _ = InferenceJson.ParseResponse(body.Span);
            return status == 200 ? null : $"status {status}";
        }
        catch (ServingException e)
        {
            return $"status 200 with a body that is not an inference response ({e.Message})";
        }
    }

    private async Task AssertHealthyInProcessAsync()
    {
        Assert.That((await _server.SendAsync("GET", "/v2/health/ready")).StatusCode, Is.EqualTo(200));
        var mlnet = await _server.SendAsync("POST", Seeds[0].Path, Encoding.UTF8.GetBytes(Seeds[0].Json));
        var custom = await _server.SendAsync("POST", Seeds[5].Path, Encoding.UTF8.GetBytes(Seeds[5].Json));
        Assert.That(mlnet.StatusCode, Is.EqualTo(200), mlnet.Text);
        Assert.That(custom.StatusCode, Is.EqualTo(200), custom.Text);
    }
}
