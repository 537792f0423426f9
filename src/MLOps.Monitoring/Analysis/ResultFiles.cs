using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;

namespace MLOps.Monitoring.Analysis;

/// <summary>
/// Where results live: <c>{root}/_results/{endpoint id}/{application}/{yyyy-MM-dd}/{window start}.parquet</c>, one immutable file per
/// endpoint, application and window holding its results and metrics, written atomically (temporary file renamed), so a re-analysis
/// of a window replaces its file instead of adding rows.
/// </summary>
internal static class ResultFiles
{
    private const string TimeFormat = "yyyyMMdd'T'HHmm";
    private static readonly JsonSerializerOptions s_json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private static readonly Schema s_schema = new([
        new Field("type", StringType.Default, false),
        new Field("name", StringType.Default, false),
        new Field("value", DoubleType.Default, false),
        new Field("kind", StringType.Default, true),
        new Field("status", StringType.Default, true),
        new Field("message", StringType.Default, true),
        new Field("statistics", StringType.Default, true),
        new Field("window_start", CapturedRecord.TimeType, false),
        new Field("window_end", CapturedRecord.TimeType, false),
        new Field("analyzed_at", CapturedRecord.TimeType, false)], null);

    private static string Folder(string root, string endpointId) => Path.Combine(root, "_results", endpointId);

    private static string FileOf(string root, string endpointId, string application, DateTimeOffset start)
    {
        var utc = start.UtcDateTime;
        return Path.Combine(Folder(root, endpointId), application, utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), utc.ToString(TimeFormat, CultureInfo.InvariantCulture) + "Z.parquet");
    }

    /// <summary>Stores (replaces) what an application returned for a window; an output with nothing removes the window's file.</summary>
    public static async Task WriteAsync(string root, IReadOnlyList<MonitoringResultRecord> results, IReadOnlyList<MonitoringMetricRecord> metrics,
        string endpointId, string application, DateTimeOffset start, DateTimeOffset end, DateTimeOffset analyzedAt, CancellationToken cancellationToken)
    {
        var path = FileOf(root, endpointId, application, start);
        var count = results.Count + metrics.Count;
        if (count == 0)
        {
            File.Delete(path);
            return;
        }
        StringArray.Builder type = new(), name = new(), kind = new(), status = new(), message = new(), statistics = new();
        var value = new DoubleArray.Builder();
        foreach (var r in results)
        {
            type.Append("result");
            name.Append(r.Name);
            value.Append(r.Value);
            kind.Append(r.Kind.ToString());
            status.Append(r.Status.ToString());
            if (r.Message is null) message.AppendNull(); else message.Append(r.Message);
            if (r.Statistics.Count == 0) statistics.AppendNull(); else statistics.Append(JsonSerializer.Serialize(r.Statistics, s_json));
        }
        foreach (var m in metrics)
        {
            type.Append("metric");
            name.Append(m.Name);
            value.Append(m.Value);
            kind.AppendNull();
            status.AppendNull();
            message.AppendNull();
            statistics.AppendNull();
        }
        var batch = new RecordBatch(s_schema, [type.Build(), name.Build(), value.Build(), kind.Build(), status.Build(), message.Build(), statistics.Build(),
            Times(start, count), Times(end, count), Times(analyzedAt, count)], count);
        await DatasetWriter.WriteParquetFileAsync([batch], path, cancellationToken).ConfigureAwait(false);
    }

    private static TimestampArray Times(DateTimeOffset time, int count)
    {
        var builder = new TimestampArray.Builder(CapturedRecord.TimeType).Reserve(count);
        for (int i = 0; i < count; i++) builder.Append(time);
        return builder.Build();
    }

    /// <summary>Reads the stored results and metrics of an endpoint whose window starts in [from, to), in window order.</summary>
    public static async IAsyncEnumerable<(MonitoringResultRecord? Result, MonitoringMetricRecord? Metric)> ReadAsync(string root, string endpointId, string? application,
        DateTimeOffset? from, DateTimeOffset? to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var folder = Folder(root, endpointId);
        if (!Directory.Exists(folder)) yield break;
        var applications = application is null
            ? Directory.EnumerateDirectories(folder).Select(Path.GetFileName).OfType<string>()
            : [application];
        var files = new List<(DateTimeOffset Start, string Application, string Path)>();
        foreach (var app in applications)
        {
            var appFolder = Path.Combine(folder, app);
            if (!Directory.Exists(appFolder)) continue;
            foreach (var file in Directory.EnumerateFiles(appFolder, "*.parquet", SearchOption.AllDirectories))
            {
                var stem = Path.GetFileNameWithoutExtension(file).TrimEnd('Z');
                if (!DateTimeOffset.TryParseExact(stem, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var start)) continue;
                if ((from is null || start >= from) && (to is null || start < to)) files.Add((start, app, file));
            }
        }
        foreach (var (_, app, file) in files.OrderBy(f => f.Start).ThenBy(f => f.Application, StringComparer.Ordinal))
        {
            await foreach (var batch in DatasetReader.ReadParquetAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var type = (StringArray)batch.Column("type");
                var name = (StringArray)batch.Column("name");
                var value = (DoubleArray)batch.Column("value");
                var kind = (StringArray)batch.Column("kind");
                var status = (StringArray)batch.Column("status");
                var message = (StringArray)batch.Column("message");
                var statistics = (StringArray)batch.Column("statistics");
                var start = (TimestampArray)batch.Column("window_start");
                var end = (TimestampArray)batch.Column("window_end");
                var analyzed = (TimestampArray)batch.Column("analyzed_at");
                for (int i = 0; i < batch.Length; i++)
                {
                    if (type.GetString(i) == "metric")
                    {
                        yield return (null, new MonitoringMetricRecord
                        {
                            EndpointId = endpointId, Application = app, WindowStart = start.GetTimestamp(i)!.Value, WindowEnd = end.GetTimestamp(i)!.Value,
                            Name = name.GetString(i), Value = value.GetValue(i) ?? double.NaN, AnalyzedAt = analyzed.GetTimestamp(i)!.Value,
                        });
                        continue;
                    }
                    var json = statistics.GetString(i);
                    yield return (new MonitoringResultRecord
                    {
                        EndpointId = endpointId, Application = app, WindowStart = start.GetTimestamp(i)!.Value, WindowEnd = end.GetTimestamp(i)!.Value,
                        Name = name.GetString(i), Value = value.GetValue(i) ?? double.NaN,
                        Kind = Enum.Parse<ResultKind>(kind.GetString(i)), Status = Enum.Parse<ResultStatus>(status.GetString(i)),
                        Message = message.GetString(i),
                        Statistics = json is null ? new Dictionary<string, double>() : JsonSerializer.Deserialize<Dictionary<string, double>>(json, s_json)!,
                        AnalyzedAt = analyzed.GetTimestamp(i)!.Value,
                    }, null);
                }
            }
        }
    }
}
