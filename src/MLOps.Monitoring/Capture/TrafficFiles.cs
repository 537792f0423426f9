using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace MLOps.Monitoring.Capture;

/// <summary>
/// Where the per-minute traffic of the endpoints lives (every request, sampled or not, and the dropped records):
/// <c>{root}/_traffic/{endpoint id}/{yyyy-MM-dd}/{HH}/{first minute}-{unique}.parquet</c>, one file per capture flush and hour with
/// the counts added since the previous flush (a minute may appear in several files: readers sum them).
/// </summary>
internal static class TrafficFiles
{
    private const string Minute = "minute";
    private const string Requests = "requests";
    private const string Errors = "errors";
    private const string Dropped = "dropped";

    private static string Folder(string root, string endpointId) => Path.Combine(root, "_traffic", endpointId);

    /// <summary>Writes the rows, one file per UTC hour.</summary>
    public static async Task WriteAsync(string root, string endpointId, IReadOnlyList<TrafficMinute> rows, CancellationToken cancellationToken)
    {
        foreach (var hour in rows.GroupBy(r => r.Minute / 60).OrderBy(g => g.Key))
        {
            var ordered = hour.OrderBy(r => r.Minute).ToList();
            var first = ordered[0].Time.UtcDateTime;
            var folder = Path.Combine(Folder(root, endpointId), first.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), first.ToString("HH", CultureInfo.InvariantCulture));
            var minutes = new TimestampArray.Builder(CapturedRecord.TimeType);
            Int64Array.Builder requests = new(), errors = new(), dropped = new();
            foreach (var row in ordered)
            {
                minutes.Append(row.Time);
                requests.Append(row.Requests);
                errors.Append(row.Errors);
                dropped.Append(row.Dropped);
            }
            var schema = new Schema([
                new Field(Minute, CapturedRecord.TimeType, false), new Field(Requests, Int64Type.Default, false),
                new Field(Errors, Int64Type.Default, false), new Field(Dropped, Int64Type.Default, false)], null);
            var batch = new RecordBatch(schema, [minutes.Build(), requests.Build(), errors.Build(), dropped.Build()], ordered.Count);
            var path = Path.Combine(folder, $"{first.ToString("yyyyMMdd'T'HHmm", CultureInfo.InvariantCulture)}Z-{Guid.NewGuid():N}.parquet");
            await DatasetWriter.WriteParquetFileAsync([batch], path, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The sums of requests, errors and dropped records of the minutes in [from, to).</summary>
    public static async Task<(long Requests, long Errors, long Dropped, bool Any)> SumAsync(string root, string endpointId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        long requests = 0, errors = 0, dropped = 0;
        bool any = false;
        var folder = Folder(root, endpointId);
        if (!Directory.Exists(folder)) return (0, 0, 0, false);
        foreach (var hourFolder in CaptureFiles.HourFolders(folder, from, to))
        {
            foreach (var file in Directory.EnumerateFiles(hourFolder, "*.parquet"))
            {
                await foreach (var batch in DatasetReader.ReadParquetAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    var minutes = (TimestampArray)batch.Column(Minute);
                    Int64Array r = (Int64Array)batch.Column(Requests), e = (Int64Array)batch.Column(Errors), d = (Int64Array)batch.Column(Dropped);
                    for (int i = 0; i < batch.Length; i++)
                    {
                        var time = minutes.GetTimestamp(i);
                        if (time < from || time >= to) continue;
                        any = true;
                        requests += r.GetValue(i) ?? 0;
                        errors += e.GetValue(i) ?? 0;
                        dropped += d.GetValue(i) ?? 0;
                    }
                }
            }
        }
        return (requests, errors, dropped, any);
    }
}
