using System.Net.Http.Headers;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Benchmarks;

/// <summary>
/// In-process inference of one flight: the mock server (a flow graph with one ML.NET model step serving the registered
/// model through a <see cref="ModelHandle{TInput, TOutput}"/>) against <c>PredictionEngine.Predict</c> on the same model.
/// The overhead per request is the difference of the means (target: at most 2 µs for the typed request).
/// </summary>
public class InProcessInferenceBenchmarks
{
    private ServingBenchData _data = null!;
    private PredictionEngine<ServedFlight, ServedPrediction> _engine = null!;
    private MLNetModel<ServedFlight, ServedPrediction> _model = null!;
    private ServingFlow _graph = null!;
    private InferenceServer _server = null!;
    private InferenceRequest _request = null!;
    private byte[] _json = [];
    private byte[] _plainJson = [];

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _data = await ServingBenchData.CreateAsync();
        _engine = _data.Ml.Model.CreatePredictionEngine<ServedFlight, ServedPrediction>(_data.Model);
        _model = MLNetModel.Create<ServedFlight, ServedPrediction>(_data.Project, ServingBenchData.ModelName, ServingBenchData.ModelUri);
        _graph = ServingGraph.Flow("bench").To(new ModelStep(_model)).Build();
        _server = _graph.ToMockServer(_model);
        await _server.LoadAsync();
        _request = _data.Request;
        _json = _data.RequestJson;
        _plainJson = _data.PlainJson;
        var check = await _server.SendAsync("POST", "/v2/models/delay/infer", _json);
        if (check.StatusCode != 200) throw new InvalidOperationException($"The mock server answered {check.StatusCode}: {check.Text}");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _engine.Dispose();
        await _graph.DisposeAsync();
        await _model.DisposeAsync();
        await _data.DisposeAsync();
    }

    /// <summary>The baseline: the model's own prediction engine, one row.</summary>
    [Benchmark(Baseline = true)]
    public ServedPrediction PredictionEnginePredict() => _engine.Predict(_data.Input);

    /// <summary>A typed V2 request (three FP32 tensors of shape [1]) through the mock server and the graph.</summary>
    [Benchmark]
    public ValueTask<InferenceResponse> MockServerInfer() => _server.InferAsync(ServingBenchData.ModelName, _request);

    /// <summary>The same request as a JSON body through the mock server's REST path (parse, infer, serialize).</summary>
    [Benchmark]
    public ValueTask<InferenceHttpResponse> MockServerSendJson() => _server.SendAsync("POST", "/v2/models/delay/infer", _json);

    /// <summary>What the bare minimal API of <see cref="HttpInferenceBenchmarks"/> does in process: System.Text.Json binds
    /// the flight, the engine predicts it, and the result is serialized (the JSON counterpart of <see cref="MockServerSendJson"/>).</summary>
    [Benchmark]
    public byte[] BareJsonPredict()
    {
        var flight = System.Text.Json.JsonSerializer.Deserialize<ServedFlight>(_plainJson)!;
        var p = _engine.Predict(flight);
        return System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new BarePrediction(p.PredictedLabel, p.Probability));
    }

    /// <summary>The bare API's answer.</summary>
    public sealed record BarePrediction(bool PredictedLabel, float Probability);

    /// <summary>
    /// Not a benchmark (<c>--profile-serving-inproc</c>): the thread CPU time and the bytes allocated per call of each
    /// step of the JSON path, against the bare API's in-process work, interleaved in rounds. CPU time does not count the
    /// time spent waiting for a core, so it holds up better than wall time on a loaded machine.
    /// </summary>
    public static async Task ProfileAsync()
    {
        var bench = new InProcessInferenceBenchmarks();
        await bench.SetupAsync();
        try
        {
            var request = InferenceJson.ParseRequest(bench._json);
            var response = await bench._server.InferAsync(ServingBenchData.ModelName, request);
            (string Name, Action Call)[] sides =
            [
                ("PredictionEngine.Predict", () => bench.PredictionEnginePredict()),
                ("BareJsonPredict", () => bench.BareJsonPredict()),
                ("InferenceJson.ParseRequest", () => InferenceJson.ParseRequest(bench._json)),
                ("mock server InferAsync (typed)", () => Wait(bench._server.InferAsync(ServingBenchData.ModelName, request))),
                ("InferenceJson.SerializeResponse", () => InferenceJson.SerializeResponse(response)),
                ("mock server SendAsync (JSON)", () => Wait(bench.MockServerSendJson())),
            ];
            const int Rounds = 7, Calls = 20_000;
            var cpu = new List<double>[sides.Length];
            var bytes = new double[sides.Length];
            for (int s = 0; s < sides.Length; s++)
            {
                cpu[s] = [];
                for (int i = 0; i < Calls; i++) sides[s].Call();
            }
            for (int round = 0; round < Rounds; round++)
            {
                for (int s = 0; s < sides.Length; s++)
                {
                    long allocated = GC.GetAllocatedBytesForCurrentThread();
                    double c0 = OnlineBenchTiming.ThreadCpu.Microseconds();
                    for (int i = 0; i < Calls; i++) sides[s].Call();
                    cpu[s].Add((OnlineBenchTiming.ThreadCpu.Microseconds() - c0) / Calls);
                    bytes[s] = (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)Calls;
                }
            }
            Console.WriteLine($"// In-process JSON path, thread CPU per call (median of {Rounds} interleaved rounds of {Calls:N0}) and bytes allocated per call:");
            foreach (var (side, s) in sides.Select((side, s) => (side, s)))
                Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"//   {side.Name,-32} {cpu[s].Order().ElementAt(Rounds / 2),6:F2} us {bytes[s],6:F0} B"));
        }
        finally
        {
            await bench.CleanupAsync();
        }

        static void Wait<T>(ValueTask<T> task)
        {
            if (!task.IsCompleted) throw new InvalidOperationException("The in-process path was expected to complete synchronously.");
            _ = task.Result;
        }
    }
}

/// <summary>
/// HTTP inference over loopback with real Kestrel and HttpClient, 1,024 requests per invocation by
/// <see cref="Concurrency"/> clients: V2 <c>POST /v2/models/delay/infer</c> (<c>MapServingGraph</c>) against a bare ASP.NET
/// Core minimal API that binds the flight from JSON and predicts with pooled prediction engines of the same model. The
/// mean is the time per request: the latency at concurrency 1, the inverse of the throughput at 32.
/// </summary>
[WarmupCount(3)]
[IterationCount(15)]
public class HttpInferenceBenchmarks
{
    private const int Requests = 1024;
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private ServingBenchData _data = null!;
    private MLNetModel<ServedFlight, ServedPrediction> _model = null!;
    private ServingFlow _graph = null!;
    private (WebApplication App, HttpClient Client) _v2;
    private (WebApplication App, HttpClient Client) _bare;
    private byte[] _v2Body = [];
    private byte[] _bareBody = [];

    /// <summary>The number of clients sending at once.</summary>
    [Params(1, 32)]
    public int Concurrency { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _data = await ServingBenchData.CreateAsync();
        _model = MLNetModel.Create<ServedFlight, ServedPrediction>(_data.Project, ServingBenchData.ModelName, ServingBenchData.ModelUri);
        _graph = ServingGraph.Flow("bench").To(new ModelStep(_model)).Build();
        _v2 = await StartAsync(b => b.Services.AddServing(_graph, _model), app => app.MapServingGraph());

        var ml = _data.Ml;
        var trained = _data.Model;
        var pool = new DefaultObjectPoolProvider { MaximumRetained = Environment.ProcessorCount * 2 }
            .Create(new EnginePolicy(() => ml.Model.CreatePredictionEngine<ServedFlight, ServedPrediction>(trained)));
        _bare = await StartAsync(_ => { }, app => app.MapPost("/predict", (ServedFlight flight) =>
        {
            var engine = pool.Get();
            try
            {
                var p = engine.Predict(flight);
                return new PlainPrediction(p.PredictedLabel, p.Probability);
            }
            finally
            {
                pool.Return(engine);
            }
        }));
        _v2Body = _data.RequestJson;
        _bareBody = _data.PlainJson;
        await SendAsync(_v2.Client, "/v2/models/delay/infer", _v2Body);
        await SendAsync(_bare.Client, "/predict", _bareBody);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        foreach (var (app, client) in new[] { _v2, _bare })
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
        await _graph.DisposeAsync();
        await _model.DisposeAsync();
        await _data.DisposeAsync();
    }

    /// <summary>The baseline: a minimal API endpoint that binds the flight and predicts it.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Requests)]
    public Task MinimalApi() => RunAsync(_bare.Client, "/predict", _bareBody);

    /// <summary>The Open Inference Protocol endpoint of the serving graph.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public Task OpenInferenceV2() => RunAsync(_v2.Client, "/v2/models/delay/infer", _v2Body);

    /// <summary>
    /// Not a benchmark (<c>--profile-serving</c>): after a long warm-up (20,000 requests per side), both sides in
    /// alternating rounds at concurrency 1 and 32, then p50/p99 latencies of single requests at concurrency 1.
    /// </summary>
    public static async Task ProfileAsync()
    {
        var bench = new HttpInferenceBenchmarks { Concurrency = 1 };
        await bench.SetupAsync();
        try
        {
            for (int i = 0; i < 20_000; i++)
            {
                await SendAsync(bench._bare.Client, "/predict", bench._bareBody);
                await SendAsync(bench._v2.Client, "/v2/models/delay/infer", bench._v2Body);
            }
            await bench.CompareInterleavedAsync();
            OnlineBenchTiming.Print("HTTP inference latency at concurrency 1", 10_000,
                ("MinimalApi", () => { SendAsync(bench._bare.Client, "/predict", bench._bareBody).GetAwaiter().GetResult(); return 0; }),
                ("OpenInferenceV2", () => { SendAsync(bench._v2.Client, "/v2/models/delay/infer", bench._v2Body).GetAwaiter().GetResult(); return 0; }));
        }
        finally
        {
            await bench.CleanupAsync();
        }
    }

    /// <summary>
    /// Not a benchmark (<c>--profile-serving-process</c>): the servers run in a child process of their own (as an
    /// independent load test runs them) and this process only sends the requests. Three sides: the bare minimal API,
    /// <c>AddServing</c> + <c>MapServingGraph</c> in a slim web application (the BenchmarkDotNet side) and
    /// <c>server.StartHttpAsync</c> (<see cref="InferenceHttpHost"/>). After a warm-up, every side runs in alternating
    /// rounds of <see cref="Requests"/> requests at concurrency 1 and 32; the report gives the median wall time per
    /// request (throughput) and the child's CPU time per request (the server's own cost), each with its ratio to the bare API.
    /// </summary>
    public static async Task ProfileProcessAsync(int rounds)
    {
        string self = typeof(HttpInferenceBenchmarks).Assembly.Location;
        var start = new System.Diagnostics.ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            start.ArgumentList.Add(self);
        start.ArgumentList.Add("--serve-http-child");
        using var child = System.Diagnostics.Process.Start(start)!;
        var sides = new List<(string Name, HttpClient Client, string Path, byte[] Body)>();
        try
        {
            byte[] v2Body = [], bareBody = [];
            while (await child.StandardOutput.ReadLineAsync() is { } line && line != "ready")
            {
                var parts = line.Split(' ');
                switch (parts[0])
                {
                    case "body-v2": v2Body = Convert.FromBase64String(parts[1]); break;
                    case "body-bare": bareBody = Convert.FromBase64String(parts[1]); break;
                    case "side":
                        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(parts[2]) };
                        sides.Add((parts[1], client, parts[3], []));
                        break;
                }
            }
            if (sides.Count != 3)
                throw new InvalidOperationException("The server process did not start its three servers.");
            sides = [.. sides.Select(s => s with { Body = s.Name == "MinimalApi" ? bareBody : v2Body })];
            for (int i = 0; i < 20_000; i++)
            {
                foreach (var side in sides)
                    await SendAsync(side.Client, side.Path, side.Body);
            }
            const int PerRound = 4 * Requests;
            foreach (int concurrency in new[] { 1, 32 })
            {
                var wall = sides.Select(_ => new List<double>()).ToArray();
                var cpu = new double[sides.Count]; // summed: the child's CPU time is counted in 10 ms ticks
                for (int round = 0; round < rounds; round++)
                {
                    for (int s = 0; s < sides.Count; s++)
                    {
                        child.Refresh();
                        var cpu0 = child.TotalProcessorTime;
                        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                        await RunAsync(sides[s].Client, sides[s].Path, sides[s].Body, concurrency, PerRound);
                        wall[s].Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMicroseconds / PerRound);
                        child.Refresh();
                        cpu[s] += (child.TotalProcessorTime - cpu0).TotalMicroseconds / PerRound / rounds;
                    }
                }
                static double Median(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);
                Console.WriteLine($"// HTTP, servers in their own process, concurrency {concurrency}, {rounds} alternating rounds of {PerRound}:");
                for (int s = 0; s < sides.Count; s++)
                {
                    // Throughput: the ratio of each round to the bare API's round next to it, then the median of those ratios.
                    double ratio = Median(wall[s].Select((v, r) => wall[0][r] / v));
                    Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"//   {sides[s].Name,-16} {Median(wall[s]),6:F1} us/request = {1e6 / Median(wall[s]),6:F0} req/s, throughput {ratio:F2}x MinimalApi (median of round ratios; rounds {string.Join(" ", wall[s].Select((v, r) => (wall[0][r] / v).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}); server CPU {cpu[s],5:F1} us/request ({cpu[0] / cpu[s]:F2}x)"));
                }
            }
        }
        finally
        {
            foreach (var side in sides)
                side.Client.Dispose();
            child.StandardInput.Close();
            await child.WaitForExitAsync();
        }
    }

    /// <summary>The child of <see cref="ProfileProcessAsync"/> (<c>--serve-http-child</c>): starts the three servers,
    /// prints their addresses and bodies, and serves until its standard input closes.</summary>
    public static async Task ServeChildAsync()
    {
        var bench = new HttpInferenceBenchmarks { Concurrency = 32 };
        await bench.SetupAsync();
        var server = bench._graph.ToMockServer(bench._model);
        var host = await server.StartHttpAsync("http://127.0.0.1:0");
        try
        {
            Console.WriteLine($"body-v2 {Convert.ToBase64String(bench._v2Body)}");
            Console.WriteLine($"body-bare {Convert.ToBase64String(bench._bareBody)}");
            Console.WriteLine($"side MinimalApi {bench._bare.Client.BaseAddress} /predict");
            Console.WriteLine($"side MapServingGraph {bench._v2.Client.BaseAddress} /v2/models/delay/infer");
            Console.WriteLine($"side StartHttpAsync {host.BaseAddress} /v2/models/delay/infer");
            Console.WriteLine("ready");
            await Console.In.ReadToEndAsync();
        }
        finally
        {
            await host.DisposeAsync();
            await bench.CleanupAsync();
        }
    }

    /// <summary>
    /// Not a benchmark (<c>--profile-serving-handlers</c>): the application's own work per request, without sockets or
    /// Kestrel: the request delegate of each side's endpoint (the minimal API's, and the V2 infer endpoint of
    /// <c>MapServingGraph</c>, or its <c>/v2/{**path}</c> catch-all in older builds) invoked on a fresh
    /// <see cref="Microsoft.AspNetCore.Http.DefaultHttpContext"/> with the JSON body, as routing would, in interleaved
    /// rounds; thread CPU time and bytes allocated per request. Thread CPU does not count waiting for a core, so the
    /// figures hold on a loaded machine where the HTTP throughput ratios do not.
    /// </summary>
    public static async Task ProfileHandlersAsync()
    {
        var bench = new HttpInferenceBenchmarks { Concurrency = 1 };
        await bench.SetupAsync();
        try
        {
            var bare = Find(bench._bare.App, e => e.RoutePattern.RawText == "/predict");
            var v2 = Find(bench._v2.App, e => e.RoutePattern.RawText is "/v2/models/{name}/infer" or "/v2/{**path}");
            bool catchAll = v2.RoutePattern.RawText!.Contains("**", StringComparison.Ordinal);
            var bareServer = new FakeServer();
            var v2Server = new FakeServer();
            (string Name, Func<Task> Call)[] sides =
            [
                ("MinimalApi /predict", () => Invoke(bench._bare.App, bareServer, bare, "/predict", bench._bareBody, null)),
                ($"V2 {v2.RoutePattern.RawText}", () => Invoke(bench._v2.App, v2Server, v2, "/v2/models/delay/infer", bench._v2Body,
                    catchAll ? new() { ["path"] = "models/delay/infer" } : new() { ["name"] = "delay" })),
            ];
            const int Rounds = 9, Calls = 20_000;
            var cpu = new List<double>[sides.Length];
            var bytes = new List<double>[sides.Length];
            for (int s = 0; s < sides.Length; s++)
            {
                cpu[s] = [];
                bytes[s] = [];
                for (int i = 0; i < Calls; i++) await sides[s].Call();
            }
            for (int round = 0; round < Rounds; round++)
            {
                for (int s = 0; s < sides.Length; s++)
                {
                    long allocated = GC.GetAllocatedBytesForCurrentThread();
                    double c0 = OnlineBenchTiming.ThreadCpu.Microseconds();
                    for (int i = 0; i < Calls; i++)
                    {
                        var task = sides[s].Call();
                        if (!task.IsCompleted) throw new InvalidOperationException($"{sides[s].Name} did not complete synchronously.");
                    }
                    cpu[s].Add((OnlineBenchTiming.ThreadCpu.Microseconds() - c0) / Calls);
                    bytes[s].Add((GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)Calls);
                }
            }
            Console.WriteLine($"// Request delegates on a DefaultHttpContext (no sockets), thread CPU per request (median and range of {Rounds} interleaved rounds of {Calls:N0}) and bytes allocated:");
            for (int s = 0; s < sides.Length; s++)
            {
                var sorted = cpu[s].Order().ToList();
                Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"//   {sides[s].Name,-34} {sorted[Rounds / 2],6:F2} us ({sorted[0]:F2}-{sorted[^1]:F2}) {bytes[s].Order().ElementAt(Rounds / 2),6:F0} B"));
            }
        }
        finally
        {
            await bench.CleanupAsync();
        }

        static Microsoft.AspNetCore.Routing.RouteEndpoint Find(WebApplication app, Func<Microsoft.AspNetCore.Routing.RouteEndpoint, bool> match)
            => app.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
                .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
                .First(e => match(e) && e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods.Contains("POST") == true);

        static Task Invoke(WebApplication app, FakeServer server, Microsoft.AspNetCore.Routing.RouteEndpoint endpoint, string path, byte[] body, Microsoft.AspNetCore.Routing.RouteValueDictionary? values)
        {
            server.Drain();
            var context = new Microsoft.AspNetCore.Http.DefaultHttpContext { RequestServices = app.Services };
            context.Features.Set<IHttpResponseBodyFeature>(server);
            context.Features.Set<IRequestBodyPipeFeature>(new RequestPipe(System.IO.Pipelines.PipeReader.Create(new System.Buffers.ReadOnlySequence<byte>(body))));
            var request = context.Request;
            request.Method = "POST";
            request.Path = path;
            request.ContentType = "application/json";
            request.ContentLength = body.Length;
            request.Body = new MemoryStream(body, writable: false); // what the minimal API's JSON binder reads; ours reads the pipe
            if (values is not null)
                request.RouteValues = values;
            Microsoft.AspNetCore.Http.EndpointHttpContextExtensions.SetEndpoint(context, endpoint);
            context.Features.Set<IHttpRequestBodyDetectionFeature>(HasBody.Instance); // as Kestrel says for a POST with a body
            var task = endpoint.RequestDelegate!(context);
            if (task.IsCompleted && context.Response.StatusCode != 200)
                throw new InvalidOperationException($"{path} answered {context.Response.StatusCode}.");
            return task;
        }
    }

    /// <summary>The response body of <see cref="ProfileHandlersAsync"/>: one reusable pipe per side, drained before each
    /// request, as Kestrel's response pipe is reused per connection (no stream adapter per request).</summary>
    private sealed class FakeServer : IHttpResponseBodyFeature
    {
        private readonly System.IO.Pipelines.Pipe _pipe = new(new System.IO.Pipelines.PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        private readonly Stream _stream;

        public FakeServer() => _stream = _pipe.Writer.AsStream(leaveOpen: true);

        public Stream Stream => _stream;

        public System.IO.Pipelines.PipeWriter Writer => _pipe.Writer;

        public void Drain()
        {
            _pipe.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
            while (_pipe.Reader.TryRead(out var read) && !read.Buffer.IsEmpty)
                _pipe.Reader.AdvanceTo(read.Buffer.End);
        }

        public void DisableBuffering()
        {
        }

        public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task CompleteAsync() => Task.CompletedTask;
    }

    private sealed class RequestPipe(System.IO.Pipelines.PipeReader reader) : IRequestBodyPipeFeature
    {
        public System.IO.Pipelines.PipeReader Reader => reader;
    }

    private sealed class HasBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly HasBody Instance = new();

        public bool CanHaveBody => true;
    }

    /// <summary>
    /// Not a benchmark (<c>--serve-one v2|bare</c>): one side only, at concurrency 32, for <paramref name="rounds"/> rounds
    /// of <see cref="Requests"/> requests after a warm-up: a steady load to attach a profiler to (<c>dotnet-trace</c>).
    /// </summary>
    public static async Task ServeOneAsync(string side, int rounds)
    {
        var bench = new HttpInferenceBenchmarks { Concurrency = 32 };
        await bench.SetupAsync();
        try
        {
            var (client, path, body) = side == "bare"
                ? (bench._bare.Client, "/predict", bench._bareBody)
                : (bench._v2.Client, "/v2/models/delay/infer", bench._v2Body);
            for (int i = 0; i < 5; i++)
                await RunAsync(client, path, body, 32);
            Console.WriteLine($"// {side}: warmed up, {rounds} rounds of {Requests} at concurrency 32 (pid {Environment.ProcessId})");
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            for (int round = 0; round < rounds; round++)
                await RunAsync(client, path, body, 32);
            double us = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds / (rounds * (double)Requests);
            double bytes = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (rounds * (double)Requests);
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"// {side}: {us:F1} us per request, {bytes:F0} B allocated per request (client and server)"));
        }
        finally
        {
            await bench.CleanupAsync();
        }
    }

    /// <summary>
    /// Both sides in alternating rounds of <see cref="Requests"/> requests (so drift on a shared machine hits both alike),
    /// at concurrency 1 and 32: the median wall time per request over the rounds and the process CPU time per request
    /// (client and server together; it does not count waiting for a core).
    /// </summary>
    private async Task CompareInterleavedAsync()
    {
        const int Rounds = 21;
        var process = System.Diagnostics.Process.GetCurrentProcess();
        foreach (int concurrency in new[] { 1, 32 })
        {
            var wall = new List<double>[] { [], [] };
            var cpu = new double[2];
            for (int round = 0; round < Rounds; round++)
            {
                for (int side = 0; side < 2; side++)
                {
                    process.Refresh();
                    var cpu0 = process.TotalProcessorTime;
                    long start = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (side == 0)
                        await RunAsync(_bare.Client, "/predict", _bareBody, concurrency);
                    else
                        await RunAsync(_v2.Client, "/v2/models/delay/infer", _v2Body, concurrency);
                    wall[side].Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds / Requests);
                    process.Refresh();
                    cpu[side] += (process.TotalProcessorTime - cpu0).TotalMicroseconds / Requests;
                }
            }
            double bare = wall[0].Order().ElementAt(Rounds / 2), v2 = wall[1].Order().ElementAt(Rounds / 2);
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"// HTTP interleaved, concurrency {concurrency}, {Rounds} rounds of {Requests}: median per request MinimalApi {bare:F1} us, OpenInferenceV2 {v2:F1} us (ratio {v2 / bare:F2}; {1e6 / v2:F0} vs {1e6 / bare:F0} req/s); process CPU per request {cpu[0] / Rounds:F1} vs {cpu[1] / Rounds:F1} us"));
        }
    }

    private Task RunAsync(HttpClient client, string path, byte[] body) => RunAsync(client, path, body, Concurrency);

    /// <summary>Sends <paramref name="requests"/> POSTs of <paramref name="body"/> by <paramref name="concurrency"/> clients; with
    /// <paramref name="latencies"/> (at least <paramref name="requests"/> long) also records each request's wall time in microseconds.</summary>
    internal static async Task RunAsync(HttpClient client, string path, byte[] body, int concurrency, int requests = Requests, double[]? latencies = null)
    {
        int next = -1;
        var workers = new Task[concurrency];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests)
                {
                    long start = System.Diagnostics.Stopwatch.GetTimestamp();
                    await SendAsync(client, path, body);
                    if (latencies is not null)
                        latencies[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                }
            });
        }
        await Task.WhenAll(workers);
    }

    internal static async Task SendAsync(HttpClient client, string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = Json;
        using var response = await client.PostAsync(path, content);
        var text = await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(text)}");
    }

    internal static async Task<(WebApplication App, HttpClient Client)> StartAsync(Action<WebApplicationBuilder> configure, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        configure(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(address) };
        return (app, client);
    }

    private sealed record PlainPrediction(bool PredictedLabel, float Probability);

    private sealed class EnginePolicy(Func<PredictionEngine<ServedFlight, ServedPrediction>> create) : PooledObjectPolicy<PredictionEngine<ServedFlight, ServedPrediction>>
    {
        public override PredictionEngine<ServedFlight, ServedPrediction> Create() => create();

        public override bool Return(PredictionEngine<ServedFlight, ServedPrediction> obj) => true;
    }
}
