using BenchmarkDotNet.Running;
using MLOps.Benchmarks;

// Usage (see bench/README.md):
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --filter '*'            every benchmark, standard job
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --quick --filter '*Metric*'   fewer iterations (smoke run)
//   dotnet run -c Release --project bench/MLOps.Benchmarks -- --profile               statement counts and a time split per hot path
var quick = args.Contains("--quick", StringComparer.Ordinal);
if (args.Contains("--profile", StringComparer.Ordinal))
{
    await HotPathProfile.RunAsync(Console.Out).ConfigureAwait(false);
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
if (args.Contains("--profile-ingest-parquet", StringComparer.Ordinal))
{
    var rounds = args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(3);
    await ParquetIngestionBenchmarks.ProfileAsync(Console.Out, rounds, args.Contains("--only-ingest", StringComparer.Ordinal), args.Contains("--variants", StringComparer.Ordinal)).ConfigureAwait(false);
    return;
}
if (args.Contains("--profile-ingest", StringComparer.Ordinal))
{
    await IngestionBenchmarks.ProfileAsync(Console.Out).ConfigureAwait(false);
    return;
}
var rest = args.Where(a => a is not ("--quick" or "--profile")).ToArray();
BenchmarkSwitcher.FromAssembly(typeof(BenchConfig).Assembly).Run(rest, BenchConfig.Create(quick));
