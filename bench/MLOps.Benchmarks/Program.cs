using BenchmarkDotNet.Running;
using MLOps.Benchmarks;

// Usage (see bench/README.md):
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --filter '*'            every benchmark, standard job
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --quick --filter '*Metric*'   fewer iterations (smoke run)
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --profile               statement counts and a time split per hot path
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --profile-serving-process [rounds]   HTTP serving, servers in a child process
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --profile-serving-inproc   CPU and bytes per step of the in-process JSON path
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --profile-serving-handlers   CPU and bytes per request of each side's request delegate
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --profile-capture-http --rounds N [--per-round 10000]   HTTP with monitoring capture on vs off
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --profile-capture-inproc --rounds N   where the capture's CPU and bytes go
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --drift-quality [--windows-scale 0.2] [--sizes 100,300] [--windows 2000] [--seed-offset 7]   drift detectors on real flights: false-alarm and detection rates
var quick = args.Contains("--quick", StringComparer.Ordinal);
if (args.Contains("--profile", StringComparer.Ordinal))
{
    await HotPathProfile.RunAsync(Console.Out).ConfigureAwait(false);
    return;
}
if (args.Contains("--drift-quality", StringComparer.Ordinal))
{
    await DriftQuality.RunAsync(Console.Out, args).ConfigureAwait(false);
    return;
}
if (args.Contains("--profile-retrieval", StringComparer.Ordinal))
{
    await OfflineRetrievalBenchmarks.ProfileAsync(Console.Out).ConfigureAwait(false);
    return;
}
if (args.Contains("--profile-serving", StringComparer.Ordinal))
{
    await HttpInferenceBenchmarks.ProfileAsync().ConfigureAwait(false);
    return;
}
if (Array.IndexOf(args, "--profile-serving-process") is int processAt and >= 0)
{
    await HttpInferenceBenchmarks.ProfileProcessAsync(int.TryParse(args.ElementAtOrDefault(processAt + 1), out int processRounds) ? processRounds : 15).ConfigureAwait(false);
    return;
}
if (args.Contains("--profile-capture-inproc", StringComparer.Ordinal))
{
    await CaptureInferenceBenchmarks.ProfileAsync(args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(5)).ConfigureAwait(false);
    return;
}
if (args.Contains("--profile-capture-http", StringComparer.Ordinal))
{
    await CaptureHttpProfile.RunAsync(args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(11),
        args.SkipWhile(a => a != "--per-round").Skip(1).Select(int.Parse).FirstOrDefault(4096)).ConfigureAwait(false);
    return;
}
if (args.Contains("--profile-serving-inproc", StringComparer.Ordinal))
{
    await InProcessInferenceBenchmarks.ProfileAsync().ConfigureAwait(false);
    return;
}
if (args.Contains("--profile-serving-handlers", StringComparer.Ordinal))
{
    await HttpInferenceBenchmarks.ProfileHandlersAsync().ConfigureAwait(false);
    return;
}
if (args.Contains("--serve-http-child", StringComparer.Ordinal))
{
    await HttpInferenceBenchmarks.ServeChildAsync().ConfigureAwait(false);
    return;
}
if (Array.IndexOf(args, "--serve-one") is int serveAt and >= 0)
{
    await HttpInferenceBenchmarks.ServeOneAsync(args.ElementAtOrDefault(serveAt + 1) ?? "v2",
        int.TryParse(args.ElementAtOrDefault(serveAt + 2), out int rounds) ? rounds : 100).ConfigureAwait(false);
    return;
}
if (args.Contains("--profile-ingest-parquet", StringComparer.Ordinal))
{
    var ingestRounds = args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(3);
    await ParquetIngestionBenchmarks.ProfileAsync(Console.Out, ingestRounds, args.Contains("--only-ingest", StringComparer.Ordinal), args.Contains("--variants", StringComparer.Ordinal)).ConfigureAwait(false);
    return;
}
if (args.Contains("--profile-ingest", StringComparer.Ordinal))
{
    await IngestionBenchmarks.ProfileAsync(Console.Out).ConfigureAwait(false);
    return;
}
var rest = args.Where(a => a is not ("--quick" or "--profile")).ToArray();
BenchmarkSwitcher.FromAssembly(typeof(BenchConfig).Assembly).Run(rest, BenchConfig.Create(quick));
