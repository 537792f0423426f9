using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using MLOps.Monitoring;
using MLOps.Monitoring.Capture;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Benchmarks;

/// <summary>
/// The cost of monitoring capture in process: <c>server.InferAsync("delay", request)</c> of one flight on a mock server with a
/// capture session (sampling 1.0, default buffer and batch) against the same call on a mock server of the same graph and model
/// without capture. The capture writer runs on its own thread: its CPU is not in these means (see
/// <see cref="CaptureHttpProfile"/>, which counts it); what is here is the cost on the request's thread and its allocations.
/// The cleanup checks that every request of the capture side was stored (or counted as dropped).
/// </summary>
public class CaptureInferenceBenchmarks
{
    private ServingBenchData _data = null!;
    private MLNetModel<ServedFlight, ServedPrediction> _model = null!;
    private ServingFlow _graph = null!;
    private InferenceServer _plain = null!;
    private InferenceServer _captured = null!;
    private CaptureSession _session = null!;
    private InferenceRequest _request = null!;
    private long _plainCalls;
    private long _capturedCalls;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _data = await ServingBenchData.CreateAsync();
        _model = MLNetModel.Create<ServedFlight, ServedPrediction>(_data.Project, ServingBenchData.ModelName, ServingBenchData.ModelUri);
        _graph = ServingGraph.Flow("bench").To(new ModelStep(_model)).Build();
        _plain = _graph.ToMockServer(_model);
        _captured = _graph.ToMockServer(_model);
        await _plain.LoadAsync();
        await _captured.LoadAsync();
        _session = await _data.Project.Monitoring.StartCaptureAsync(_captured, new CaptureOptions { SamplingRate = 1.0 });
        _request = _data.Request;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        Console.WriteLine($"// {await CaptureCheck.VerifyAsync(_data.Project, _session, _capturedCalls)} (plain side: {_plainCalls:N0} calls)");
        await _graph.DisposeAsync();
        await _model.DisposeAsync();
        await _data.DisposeAsync();
    }

    /// <summary>The baseline: the same request on a server without capture.</summary>
    [Benchmark(Baseline = true)]
    public ValueTask<InferenceResponse> NoCapture()
    {
        _plainCalls++;
        return _plain.InferAsync(ServingBenchData.ModelName, _request);
    }

    /// <summary>
    /// Not a benchmark (<c>--profile-capture-inproc --rounds N</c>): where the capture's cost goes, in process. Both sides in
    /// alternating rounds of 50,000 typed <c>InferAsync</c> calls in chunks of 5,000 (each capture chunk followed by
    /// <c>FlushAsync</c>, so the buffer never overflows and the writer's work is inside the round): the calling thread's
    /// CPU per request, the process's CPU per request (the difference on the capture side is the writer's and the GC's
    /// threads), bytes allocated per request by all threads and by the calling thread, and the garbage collections per 100,000 requests.
    /// </summary>
    public static async Task ProfileAsync(int rounds)
    {
        var bench = new CaptureInferenceBenchmarks();
        await bench.SetupAsync();
        try
        {
            const int Chunk = 5_000, Calls = 50_000;
            var process = System.Diagnostics.Process.GetCurrentProcess();
            var thread = new List<double>[] { [], [] };
            var total = new List<double>[] { [], [] };
            var bytes = new double[2];
            var own = new double[2];
            var gcs = new int[2, 3];
            for (int r = -1; r < rounds; r++) // round -1 warms up
            {
                for (int s = 0; s < 2; s++)
                {
                    process.Refresh();
                    var p0 = process.TotalProcessorTime;
                    double t0 = OnlineBenchTiming.ThreadCpu.Microseconds();
                    long a0 = GC.GetTotalAllocatedBytes(precise: true);
                    int[] g0 = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
                    double threadUs = 0;
                    long ownBytes = 0;
                    for (int done = 0; done < Calls; done += Chunk)
                    {
                        double c0 = OnlineBenchTiming.ThreadCpu.Microseconds();
                        long own0 = GC.GetAllocatedBytesForCurrentThread();
                        for (int i = 0; i < Chunk; i++)
                        {
                            var task = s == 0 ? bench.NoCapture() : bench.Capture();
                            if (!task.IsCompleted) throw new InvalidOperationException("InferAsync was expected to complete synchronously.");
                        }
                        threadUs += OnlineBenchTiming.ThreadCpu.Microseconds() - c0;
                        ownBytes += GC.GetAllocatedBytesForCurrentThread() - own0;
                        if (s == 1) await bench._session.FlushAsync();
                    }
                    process.Refresh();
                    if (r < 0) continue;
                    own[s] += ownBytes / (double)Calls / rounds;
                    thread[s].Add(threadUs / Calls);
                    total[s].Add((process.TotalProcessorTime - p0).TotalMicroseconds / Calls);
                    bytes[s] += (GC.GetTotalAllocatedBytes(precise: true) - a0) / (double)Calls / rounds;
                    for (int g = 0; g < 3; g++) gcs[s, g] += GC.CollectionCount(g) - g0[g];
                }
            }
            Console.WriteLine($"// Capture in process, {rounds} alternating rounds of {Calls:N0} typed InferAsync calls (capture chunks of {Chunk:N0} + FlushAsync); load average {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}:");
            for (int s = 0; s < 2; s++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"//   {(s == 0 ? "NoCapture" : "Capture"),-10} calling thread {thread[s].Order().ElementAt(rounds / 2),6:F2} us  process {total[s].Order().ElementAt(rounds / 2),6:F2} us CPU/request (medians)  {bytes[s],6:F0} B/request ({own[s]:F0} B on the calling thread)  GCs per 100k: gen0 {gcs[s, 0] * 100_000.0 / Calls / rounds:F1} gen1 {gcs[s, 1] * 100_000.0 / Calls / rounds:F1} gen2 {gcs[s, 2] * 100_000.0 / Calls / rounds:F1}"));
            }
        }
        finally
        {
            await bench.CleanupAsync();
        }
    }

    /// <summary>The request on a server with a capture session (every request sampled).</summary>
    [Benchmark]
    public ValueTask<InferenceResponse> Capture()
    {
        _capturedCalls++;
        return _captured.InferAsync(ServingBenchData.ModelName, _request);
    }
}

/// <summary>Checks that a capture session stored what it was given: after the session is disposed (which writes everything
/// buffered), the rows read back from its endpoints equal the requests minus the dropped and lost records.</summary>
internal static class CaptureCheck
{
    public static async Task<string> VerifyAsync(MLOpsProject project, CaptureSession session, long requests)
    {
        await session.DisposeAsync();
        long rows = 0;
        foreach (var endpoint in session.Endpoints)
        {
            await foreach (var batch in project.Monitoring.ReadCapturedAsync(endpoint.Id))
                rows += batch.Length;
        }
        long expected = requests - session.DroppedCount - session.LostCount;
        string text = $"capture check: {rows:N0} rows stored = {requests:N0} requests - {session.DroppedCount:N0} dropped - {session.LostCount:N0} lost";
        if (rows != expected)
            throw new InvalidOperationException($"The capture stored {rows:N0} rows where {expected:N0} were expected ({text}).");
        return text;
    }
}

/// <summary>
/// Not a benchmark (<c>--profile-capture-http --rounds N</c>): V2 <c>POST /v2/models/delay/infer</c> on real Kestrel
/// (127.0.0.1, <c>MapServingGraph</c>) with a capture session (sampling 1.0, default options) against the same endpoint of a
/// second server without capture, in one process with the clients. After a warm-up, both sides run in alternating rounds
/// (the order flips every round) of <c>--per-round</c> requests (default 4,096; 10,000 is one file per round at the default BatchSize) at concurrency 1 and 32. After each capture round the
/// session is flushed, so the writer's backlog does not spill into the next round: the capture side's process CPU per
/// request counts the writer's work until then (client, server and writer share the process; the difference of the two
/// sides is the capture's). Reported: req/s (median of rounds), p50/p99 of every request's latency pooled over the rounds,
/// the ratios, the flush wait, and the load average before and after. At the end the stored rows are checked against the
/// requests sent minus the reported drops.
/// </summary>
internal static class CaptureHttpProfile
{
    private const int DefaultPerRound = 4096;
    private const string Path = "/v2/models/delay/infer";

    public static async Task RunAsync(int rounds, int perRound = DefaultPerRound)
    {
        await using var data = await ServingBenchData.CreateAsync();
        var off = await StartSideAsync(data);
        var on = await StartSideAsync(data);
        var session = await data.Project.Monitoring.StartCaptureAsync(on.Server, new CaptureOptions { SamplingRate = 1.0 });
        long sentOn = 0;
        byte[] body = data.RequestJson;
        var process = System.Diagnostics.Process.GetCurrentProcess();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                await HttpInferenceBenchmarks.RunAsync(off.Client, Path, body, 32, perRound);
                await HttpInferenceBenchmarks.RunAsync(on.Client, Path, body, 32, perRound);
                sentOn += perRound;
            }
            await session.FlushAsync();
            Console.WriteLine($"// Monitoring capture over HTTP: V2 /infer on Kestrel 127.0.0.1, capture (sampling 1.0) on vs off, {rounds} alternating rounds of {perRound:N0} requests; {Environment.ProcessorCount} cores");
            foreach (int concurrency in new[] { 1, 32 })
            {
                string loadBefore = Load();
                var wall = new List<double>[] { [], [] };
                var cpu = new double[2];
                var latencies = new List<double>[] { [], [] };
                double flushMs = 0;
                var round = new double[perRound];
                for (int r = 0; r < rounds; r++)
                {
                    for (int k = 0; k < 2; k++)
                    {
                        int s = (r + k) % 2; // 0 = off, 1 = on; the order flips every round
                        var side = s == 0 ? off : on;
                        process.Refresh();
                        var cpu0 = process.TotalProcessorTime;
                        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                        await HttpInferenceBenchmarks.RunAsync(side.Client, Path, body, concurrency, perRound, round);
                        wall[s].Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMicroseconds / perRound);
                        if (s == 1)
                        {
                            sentOn += perRound;
                            long f0 = System.Diagnostics.Stopwatch.GetTimestamp();
                            await session.FlushAsync();
                            flushMs += System.Diagnostics.Stopwatch.GetElapsedTime(f0).TotalMilliseconds / rounds;
                        }
                        process.Refresh();
                        cpu[s] += (process.TotalProcessorTime - cpu0).TotalMicroseconds / perRound / rounds;
                        latencies[s].AddRange(round);
                    }
                }
                double[] reqs = [1e6 / Median(wall[0]), 1e6 / Median(wall[1])];
                double ratio = Median(wall[0].Select((v, r) => v / wall[1][r]));
                double[] p50 = [Percentile(latencies[0], 0.50), Percentile(latencies[1], 0.50)];
                double[] p99 = [Percentile(latencies[0], 0.99), Percentile(latencies[1], 0.99)];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"""
                    // concurrency {concurrency} (load average before: {loadBefore}; after: {Load()})
                    //   capture off {reqs[0],7:F0} req/s  p50 {p50[0],6:F1} us  p99 {p99[0],7:F1} us  process CPU {cpu[0],5:F1} us/request
                    //   capture on  {reqs[1],7:F0} req/s  p50 {p50[1],6:F1} us  p99 {p99[1],7:F1} us  process CPU {cpu[1],5:F1} us/request (incl. the writer; flush wait {flushMs:F1} ms/round)
                    //   on/off: throughput {ratio:F3}x (median of round ratios; {reqs[1] / reqs[0]:F3}x of median req/s), p50 {p50[1] / p50[0]:F3}x, p99 {p99[1] / p99[0]:F3}x, CPU {cpu[1] / cpu[0]:F3}x
                    //   round ratios: {string.Join(" ", wall[0].Select((v, r) => (v / wall[1][r]).ToString("F2", CultureInfo.InvariantCulture)))}
                    """));
            }
        }
        finally
        {
            Console.WriteLine($"// {await CaptureCheck.VerifyAsync(data.Project, session, sentOn)}");
            foreach (var side in new[] { off, on })
            {
                side.Client.Dispose();
                await side.App.StopAsync();
                await side.App.DisposeAsync();
                await side.Graph.DisposeAsync();
                await side.Model.DisposeAsync();
            }
        }
    }

    private static async Task<Side> StartSideAsync(ServingBenchData data)
    {
        var model = MLNetModel.Create<ServedFlight, ServedPrediction>(data.Project, ServingBenchData.ModelName, ServingBenchData.ModelUri);
        var graph = ServingGraph.Flow("bench").To(new ModelStep(model)).Build();
        var server = graph.ToMockServer(model);
        await server.LoadAsync();
        var (app, client) = await HttpInferenceBenchmarks.StartAsync(_ => { }, a => a.MapServingGraph(server));
        await HttpInferenceBenchmarks.SendAsync(client, Path, data.RequestJson);
        return new Side(model, graph, server, app, client);
    }

    private static double Median(IEnumerable<double> values) => Percentile([.. values], 0.5);

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
    }

    /// <summary>The load average as <c>uptime</c> prints it (1, 5 and 15 minutes).</summary>
    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private sealed record Side(MLNetModel<ServedFlight, ServedPrediction> Model, ServingFlow Graph, InferenceServer Server, WebApplication App, HttpClient Client);
}
