using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;

namespace MLOps.Benchmarks;

/// <summary>The real flights of 2001 (vega-datasets 3.2.1, data/flights-3m.parquet) as columns: month, delay, distance, origin.</summary>
internal sealed class DriftQualityData
{
    public const string Package = "vega-datasets@3.2.1";

    public required int[] Month { get; init; }

    public required double[] Delay { get; init; }

    public required double[] Distance { get; init; }

    public required string[] Origin { get; init; }

    /// <summary>Finds the file ($TMPDIR/mlops-bench/flights-3m.parquet, then /tmp/vega/package/data/), or gets it with
    /// <c>npm pack vega-datasets@3.2.1</c> into $TMPDIR/mlops-bench, saying what it does.</summary>
    public static async Task<string> LocateAsync(TextWriter log)
    {
        string target = Path.Combine(BenchFiles.Root, "flights-3m.parquet");
        if (File.Exists(target)) return target;
        string vega = "/tmp/vega/package/data/flights-3m.parquet";
        if (File.Exists(vega))
        {
            await log.WriteLineAsync($"using {vega} (extracted earlier from `npm pack {Package}`)").ConfigureAwait(false);
            return vega;
        }
        Directory.CreateDirectory(BenchFiles.Root);
        await log.WriteLineAsync($"{target} is missing: running `npm pack {Package}` in {BenchFiles.Root} and extracting package/data/flights-3m.parquet").ConfigureAwait(false);
        await RunAsync("npm", $"pack {Package}", BenchFiles.Root).ConfigureAwait(false);
        string tgz = Directory.GetFiles(BenchFiles.Root, "vega-datasets-*.tgz").Single();
        await RunAsync("tar", $"-xzf {Path.GetFileName(tgz)} package/data/flights-3m.parquet", BenchFiles.Root).ConfigureAwait(false);
        File.Move(Path.Combine(BenchFiles.Root, "package", "data", "flights-3m.parquet"), target);
        await log.WriteLineAsync($"extracted {target}").ConfigureAwait(false);
        return target;
    }

    public static async Task<DriftQualityData> LoadAsync(string path)
    {
        var month = new List<int>();
        var delay = new List<double>();
        var distance = new List<double>();
        var origin = new List<string>();
        await foreach (var batch in DatasetReader.ReadAsync(path, DatasetFormat.Parquet).ConfigureAwait(false))
        {
            using (batch)
            {
                var date = batch.Column("date");
                var d = batch.Column("delay");
                var km = batch.Column("distance");
                var o = (StringArray)batch.Column("origin");
                for (int i = 0; i < batch.Length; i++)
                {
                    month.Add(MonthOf(date, i));
                    delay.Add(Number(d, i));
                    distance.Add(Number(km, i));
                    origin.Add(o.GetString(i) ?? "");
                }
            }
        }
        return new DriftQualityData { Month = [.. month], Delay = [.. delay], Distance = [.. distance], Origin = [.. origin] };
    }

    private static int MonthOf(IArrowArray date, int i) => date switch
    {
        TimestampArray t => t.GetTimestamp(i)!.Value.Month,
        Date32Array t => t.GetDateTimeOffset(i)!.Value.Month,
        Date64Array t => t.GetDateTimeOffset(i)!.Value.Month,
        StringArray s => DateTime.Parse(s.GetString(i)!, CultureInfo.InvariantCulture).Month,
        _ => throw new NotSupportedException($"date column of type {date.Data.DataType.Name}"),
    };

    private static double Number(IArrowArray a, int i) => a switch
    {
        DoubleArray x => x.GetValue(i) ?? double.NaN,
        FloatArray x => x.GetValue(i) ?? double.NaN,
        Int64Array x => x.GetValue(i) is { } v ? v : double.NaN,
        Int32Array x => x.GetValue(i) ?? double.NaN,
        Int16Array x => x.GetValue(i) ?? double.NaN,
        _ => throw new NotSupportedException($"numeric column of type {a.Data.DataType.Name}"),
    };

    private static async Task RunAsync(string file, string arguments, string directory)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { WorkingDirectory = directory, UseShellExecute = false })
            ?? throw new InvalidOperationException($"could not start {file}");
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0) throw new InvalidOperationException($"`{file} {arguments}` exited with {process.ExitCode}");
    }
}
