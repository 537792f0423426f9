using Apache.Arrow;
using MLOps.Internal;

namespace MLOps.Data;

/// <summary>
/// Computes the <see cref="DatasetProfile"/> of a dataset: schema, row count, a 20-row preview and per-column
/// statistics (see <see cref="ColumnStatistics"/>), streaming over Arrow record batches.
/// </summary>
/// <remarks>
/// Memory: numeric columns keep every non-null value as a double until the end (8 bytes per value and column) so that
/// the quartiles are exact, and string columns keep one entry per distinct value. This is fine for datasets of up to
/// a few million rows; profile a sample of anything much larger.
/// </remarks>
public static class DatasetProfiler
{
    /// <summary>Profiles record batches that all have the same columns.</summary>
    /// <param name="batches">The batches, in order; the caller keeps ownership (they are not disposed).</param>
    /// <param name="format">The format to report in <see cref="DatasetProfile.Format"/>, e.g. <c>"parquet"</c>.</param>
    /// <returns>The profile. With no batches at all it has no columns and no rows.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batches"/> is null.</exception>
    /// <exception cref="ValidationException"><paramref name="format"/> is empty, a batch is null, the batches do not all
    /// have the same columns, or two columns have the same name.</exception>
    public static DatasetProfile Profile(IEnumerable<RecordBatch> batches, string format)
    {
        Throw.IfNull(batches);
        var builder = new DatasetProfileBuilder(format);
        foreach (var batch in batches)
            builder.Add(batch ?? throw new ValidationException($"Record batch {builder.BatchCount} is null. Pass only non-null batches."));
        return builder.Build();
    }

    /// <summary>Reads and profiles a dataset file, one batch at a time, its format told by its extension
    /// (see <see cref="DatasetReader.DetectFormat"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The profile.</returns>
    /// <exception cref="ValidationException"><paramref name="path"/> is empty or has no dataset extension.</exception>
    /// <exception cref="NotFoundException">The file does not exist.</exception>
    /// <exception cref="ArtifactException">The file cannot be read as its format.</exception>
    public static Task<DatasetProfile> ProfileFileAsync(string path, CancellationToken cancellationToken = default)
        => ProfileFileAsync(path, DatasetReader.DetectFormat(path), cancellationToken);

    /// <summary>Reads and profiles a dataset file, one batch at a time (see <see cref="DatasetReader.ReadAsync"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">Its format.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The profile.</returns>
    /// <exception cref="ValidationException"><paramref name="path"/> is empty or <paramref name="format"/> is not defined.</exception>
    /// <exception cref="NotFoundException">The file does not exist.</exception>
    /// <exception cref="ArtifactException">The file cannot be read as <paramref name="format"/>.</exception>
    public static async Task<DatasetProfile> ProfileFileAsync(string path, DatasetFormat format, CancellationToken cancellationToken = default)
    {
        var batches = DatasetReader.ReadAsync(path, format, DatasetReader.DefaultBatchSize, cancellationToken);
        var builder = new DatasetProfileBuilder(FormatName(format));
        await foreach (var batch in batches.ConfigureAwait(false))
        {
            using (batch)
                builder.Add(batch);
        }

        return builder.Build();
    }

    /// <summary>The name of a format as used in <see cref="DatasetProfile.Format"/>.</summary>
    internal static string FormatName(DatasetFormat format) => format switch
    {
        DatasetFormat.Csv => "csv",
        DatasetFormat.Parquet => "parquet",
        DatasetFormat.Arrow => "arrow",
        _ => throw new ValidationException(
            $"The dataset format {(int)format} is not defined. Pass DatasetFormat.Csv, DatasetFormat.Parquet or DatasetFormat.Arrow."),
    };
}

/// <summary>
/// Accumulates the <see cref="DatasetProfile"/> of a dataset batch by batch, for code that produces or reads its
/// batches itself (an ingestion, a monitoring window) and wants the profile without a second pass.
/// </summary>
/// <remarks>
/// Memory: numeric columns keep every non-null value as a double until <see cref="Build"/> (8 bytes per value and
/// column) so that the quartiles are exact, and string columns keep one entry per distinct value. Not thread-safe.
/// </remarks>
/// <example>
/// <code>
/// var profile = new DatasetProfileBuilder("parquet");
/// await foreach (var batch in DatasetReader.ReadParquetAsync("flights.parquet"))
///     using (batch) profile.Add(batch);
/// DatasetProfile result = profile.Build();
/// </code>
/// </example>
public sealed class DatasetProfileBuilder
{
    private readonly string _format;
    private readonly List<IReadOnlyDictionary<string, object?>> _preview = [];
    private Schema? _schema;
    private DatasetColumn[] _columns = [];
    private ColumnAccumulator[] _accumulators = [];
    private long _rows;
    private int _batches;
    private DatasetProfile? _built;

    /// <summary>Starts an empty profile.</summary>
    /// <param name="format">The format to report in <see cref="DatasetProfile.Format"/>, e.g. <c>"parquet"</c> or
    /// <c>"feature-set"</c>.</param>
    /// <exception cref="ValidationException"><paramref name="format"/> is empty.</exception>
    public DatasetProfileBuilder(string format)
        => _format = Names.Required(format, "profile format", "Pass the name of the data's format or origin, e.g. 'parquet'.");

    /// <summary>The number of rows added so far.</summary>
    public long RowCount => _rows;

    /// <summary>The number of batches added so far.</summary>
    public int BatchCount => _batches;

    /// <summary>Adds a batch: its rows count, feed the statistics and (the first <see cref="DatasetProfile.PreviewRowCount"/>
    /// rows of the dataset) the preview. The batch is read, not kept.</summary>
    /// <param name="batch">The batch; the first one fixes the columns.</param>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is null.</exception>
    /// <exception cref="ValidationException">The batch has other columns than the first, or two columns have the same name.</exception>
    /// <exception cref="InvalidStateException">The profile is already built.</exception>
    public void Add(RecordBatch batch)
    {
        Throw.IfNull(batch);
        if (_built is not null)
            throw new InvalidStateException("The profile is already built; start a new DatasetProfileBuilder to add more batches.");
        if (_schema is null)
            Initialize(batch.Schema);
        else
            CheckSameColumns(batch.Schema);

        for (var c = 0; c < _accumulators.Length; c++)
            _accumulators[c].Add(batch.Column(c));

        for (var row = 0; row < batch.Length && _preview.Count < DatasetProfile.PreviewRowCount; row++)
        {
            var values = new Dictionary<string, object?>(_columns.Length, StringComparer.Ordinal);
            for (var c = 0; c < _columns.Length; c++)
                values[_columns[c].Name] = ArrowTypes.PreviewValue(batch.Column(c), row);
            _preview.Add(values);
        }

        _rows += batch.Length;
        _batches++;
    }

    /// <summary>
    /// The profile (built once; later calls return the same, and no batch can be added after). The columns' statistics
    /// are built in parallel (each sorts its sample for the exact quartiles), then the accumulators give back their
    /// pooled memory.
    /// </summary>
    /// <returns>The profile; with no batch added it has no columns and no rows.</returns>
    public DatasetProfile Build()
    {
        if (_built is not null)
            return _built;
        var statistics = new ColumnStatistics[_accumulators.Length];
        Parallel.For(0, _accumulators.Length, c => statistics[c] = _accumulators[c].Build());
        foreach (var a in _accumulators) a.Release();
        return _built = new()
        {
            Format = _format,
            RowCount = _rows,
            Schema = _columns,
            Preview = _preview,
            Statistics = statistics,
        };
    }

    private void Initialize(Schema schema)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in schema.FieldsList)
        {
            if (!names.Add(field.Name))
                throw new ValidationException($"The dataset has two columns named '{field.Name}'. Rename one of them: profiles identify columns by name.");
        }

        _schema = schema;
        _columns = schema.FieldsList.Select(f => new DatasetColumn(f.Name, ArrowTypes.NameOf(f.DataType), f.IsNullable)).ToArray();
        _accumulators = schema.FieldsList.Select(f => ColumnAccumulator.Create(f.Name, f.DataType)).ToArray();
    }

    private void CheckSameColumns(Schema schema)
    {
        var fields = schema.FieldsList;
        if (fields.Count != _columns.Length)
        {
            throw new ValidationException(
                $"Record batch {_batches} has {fields.Count} columns but the first batch has {_columns.Length}. Every batch of a dataset must have the same columns.");
        }

        for (var c = 0; c < fields.Count; c++)
        {
            var type = ArrowTypes.NameOf(fields[c].DataType);
            if (fields[c].Name != _columns[c].Name || type != _columns[c].Type)
            {
                throw new ValidationException(
                    $"Column {c} of record batch {_batches} is '{fields[c].Name}' ({type}) but in the first batch it is '{_columns[c].Name}' ({_columns[c].Type}). Every batch of a dataset must have the same columns.");
            }
        }
    }
}
