using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace MLOps.Benchmarks;

/// <summary>
/// The one job every benchmark class runs with. Short on purpose: the machines are shared and small, and the
/// targets are ratios against a raw SQLite baseline measured in the same run. Classes adjust invocation and
/// iteration counts with BenchmarkDotNet's attributes where one operation is slow or changes the database.
/// </summary>
internal static class BenchConfig
{
    public static IConfig Create(bool quick)
    {
        // In process: BenchmarkDotNet's default toolchain generates and builds a project per run, which writes into the
        // shared source tree's bin/obj folders; in-process emit runs the already-built assembly instead.
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(quick ? 1 : 2)
            .WithIterationCount(quick ? 3 : 8)
            .WithId(quick ? "quick" : "short");
        return DefaultConfig.Instance
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.Median)
            .WithSummaryStyle(SummaryStyle.Default.WithRatioStyle(RatioStyle.Value))
            .WithOptions(ConfigOptions.DisableLogFile);
    }
}
