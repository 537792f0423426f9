using System.Globalization;
using System.Runtime.CompilerServices;

namespace MLOps.FeatureStore.Sources;

/// <summary>Reads rows given as column → value maps (pushed events, or dictionaries passed to <see cref="DataSource.Objects{T}"/>);
/// zone-less timestamps (unspecified <see cref="DateTime"/>s, text without an offset) are wall-clock times in <paramref name="zone"/> (default UTC).</summary>
internal sealed class DictionarySource(IEnumerable<IReadOnlyDictionary<string, object?>> rows, string description, TimeZoneInfo? zone = null) : DataSource
{
    public override string Description => description;

    internal override TimeZoneInfo Zone => zone ?? TimeZoneInfo.Utc;

    public override async IAsyncEnumerable<RecordBatch> ReadAsync(int chunkRows, IReadOnlyDictionary<string, FeatureType> typeHints, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var builder = new RowBatchBuilder(typeHints, zone ?? TimeZoneInfo.Utc);
        long row = 0;
        foreach (var values in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            row++;
            builder.BeginRow();
            foreach (var (k, v) in values)
                builder.Set(k, v switch
                {
                    int or short or byte or long or sbyte or ushort or uint => Convert.ToInt64(v, CultureInfo.InvariantCulture),
                    float or decimal or double => Convert.ToDouble(v, CultureInfo.InvariantCulture),
                    DateOnly d => d.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified), // midnight in the source's zone
                    Enum e => e.ToString(),
                    _ => v,
                });
            if (builder.Count >= chunkRows)
                yield return builder.Build(description, row - builder.Count);
        }

        if (builder.Count > 0 || row == 0)
            yield return builder.Build(description, row - builder.Count);
        await Task.CompletedTask.ConfigureAwait(false);
    }
}
