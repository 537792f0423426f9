using System.Globalization;
using System.Runtime.CompilerServices;
using Apache.Arrow;

namespace MLOps.Monitoring.Capture;

/// <summary>
/// Where captured data lives: <c>{root}/{endpoint id}/{yyyy-MM-dd}/{HH}/{first request time}-{unique}.parquet</c>, one folder per
/// UTC hour, each file written atomically (temporary file renamed once complete) with its rows ordered by time.
/// </summary>
internal static class CaptureFiles
{
    private const string TimeFormat = "yyyyMMdd'T'HHmmssfffffff";

    public static string EndpointFolder(string root, string endpointId) => Path.Combine(root, endpointId);

    /// <summary>Writes a batch (rows ordered by time, all in the hour of <paramref name="first"/>) to a new file.</summary>
    public static async Task<string> WriteAsync(string root, string endpointId, DateTimeOffset first, RecordBatch batch, CancellationToken cancellationToken)
    {
        var utc = first.UtcDateTime;
        var folder = Path.Combine(EndpointFolder(root, endpointId), utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), utc.ToString("HH", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{utc.ToString(TimeFormat, CultureInfo.InvariantCulture)}Z-{Guid.NewGuid():N}.parquet");
        await DatasetWriter.WriteParquetFileAsync([batch], path, cancellationToken).ConfigureAwait(false);
        return path;
    }

    /// <summary>Reads the rows of an endpoint whose time is in [from, to), file by file in time order (only the given
    /// <paramref name="columns"/>, which must include the time, when not null).</summary>
    public static async IAsyncEnumerable<RecordBatch> ReadAsync(string root, string endpointId, DateTimeOffset? from, DateTimeOffset? to, [EnumeratorCancellation] CancellationToken cancellationToken, IReadOnlyCollection<string>? columns = null)
    {
        var folder = EndpointFolder(root, endpointId);
        if (!Directory.Exists(folder)) yield break;
        // A bounded range lists only its hour folders (a window's analysis must not list a year of files); an open one lists all.
        var candidates = from is { } f && to is { } t && t - f <= MaxHourWalk
            ? HourFolders(folder, f, t).SelectMany(h => Directory.EnumerateFiles(h, "*.parquet"))
            : Directory.EnumerateFiles(folder, "*.parquet", SearchOption.AllDirectories);
        var files = candidates
            .Select(f => (Path: f, Hour: HourOf(folder, f)))
            .Where(f => f.Hour is { } hour && (to is null || hour < to) && (from is null || hour.AddHours(1) > from))
            .OrderBy(f => Path.GetFileName(f.Path), StringComparer.Ordinal);
        foreach (var file in files)
        {
            await foreach (var batch in DatasetReader.ReadParquetAsync(file.Path, columns is null ? null : new ParquetReadOptions { Columns = columns }, cancellationToken).ConfigureAwait(false))
            {
                var slice = Slice(batch, from, to);
                if (slice.Length > 0) yield return slice;
            }
        }
    }

    /// <summary>The longest range read by walking its hour folders rather than listing every file of the endpoint.</summary>
    private static readonly TimeSpan MaxHourWalk = TimeSpan.FromDays(31);

    /// <summary>The existing hour folders (<c>{folder}/{yyyy-MM-dd}/{HH}</c>, UTC) of the hours that overlap [from, to).</summary>
    internal static IEnumerable<string> HourFolders(string folder, DateTimeOffset from, DateTimeOffset to)
    {
        var utc = from.UtcDateTime;
        for (var hour = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero); hour < to; hour = hour.AddHours(1))
        {
            var path = Path.Combine(folder, hour.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), hour.ToString("HH", CultureInfo.InvariantCulture));
            if (Directory.Exists(path)) yield return path;
        }
    }

    private static DateTimeOffset? HourOf(string folder, string file)
    {
        var parts = Path.GetRelativePath(folder, file).Split(Path.DirectorySeparatorChar);
        if (parts.Length != 3) return null;
        return DateTimeOffset.TryParseExact($"{parts[0]} {parts[1]}", "yyyy-MM-dd HH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var hour)
            ? hour : null;
    }

    /// <summary>The rows of a time-ordered batch in [from, to).</summary>
    private static RecordBatch Slice(RecordBatch batch, DateTimeOffset? from, DateTimeOffset? to)
    {
        if (from is null && to is null) return batch;
        if (batch.Column(CaptureColumns.Time) is not TimestampArray times) return batch;
        int start = 0, end = batch.Length;
        while (start < end && from is { } f && times.GetTimestamp(start) < f) start++;
        while (end > start && to is { } t && times.GetTimestamp(end - 1) >= t) end--;
        return start == 0 && end == batch.Length ? batch : batch.Slice(start, end - start);
    }
}
