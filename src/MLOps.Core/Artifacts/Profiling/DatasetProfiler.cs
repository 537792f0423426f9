using Apache.Arrow;
using MLOps.Internal;

namespace MLOps.Artifacts;

/// <summary>
/// Computes the <see cref="DatasetProfile"/> of a dataset: schema, row count, a 20-row preview and per-column
/// statistics (see <see cref="ColumnStatistics"/>), streaming over Arrow record batches.
/// </summary>
/// <remarks>
/// Memory: numeric columns keep every non-null value as a double until the end (8 bytes per value and column) so that
/// the quartiles are exact, and string columns keep one entry per distinct value. This is fine for datasets of up to
/// a few million rows; profile a sample of anything much larger.
/// </remarks>
internal static class DatasetProfiler
{
    /// <summary>The extensions <see cref="DetectFormat"/> knows, with their format.</summary>
    private static readonly (string Extension, DatasetFormat Format)[] Extensions =
    [
        (".parquet", DatasetFormat.Parquet),
        (".csv", DatasetFormat.Csv),
        (".arrow", DatasetFormat.Arrow),
        (".feather", DatasetFormat.Arrow),
        (".ipc", DatasetFormat.Arrow),
    ];

    /// <summary>Profiles record batches that all have the same schema.</summary>
    /// <param name="batches">The batches, in order; the caller keeps ownership (they are not disposed).</param>
    /// <param name="format">The format to report in <see cref="DatasetProfile.Format"/>: <c>"parquet"</c>, <c>"csv"</c> or <c>"arrow"</c>.</param>
    /// <returns>The profile. With no batches at all it has no columns and no rows.</returns>
    /// <exception cref="ValidationException">The batches do not all have the same columns, or two columns have the same name.</exception>
    public static DatasetProfile Profile(IEnumerable<RecordBatch> batches, string format)
    {
        Throw.IfNull(batches);
        Throw.IfNullOrWhitespace(format);
        var builder = new ProfileBuilder(format);
        foreach (var batch in batches)
            builder.Add(batch);
        return builder.Build();
    }

    /// <summary>Reads and profiles a dataset file, one batch at a time (see <see cref="DatasetReader.ReadAsync"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">Its format, see <see cref="DetectFormat"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The profile.</returns>
    /// <exception cref="NotFoundException">The file does not exist.</exception>
    /// <exception cref="ArtifactException">The file cannot be read as <paramref name="format"/>.</exception>
    public static async Task<DatasetProfile> ProfileFileAsync(string path, DatasetFormat format, CancellationToken cancellationToken)
    {
        var builder = new ProfileBuilder(FormatName(format));
        await foreach (var batch in DatasetReader.ReadAsync(path, format, DatasetReader.DefaultBatchSize, cancellationToken).ConfigureAwait(false))
        {
            using (batch)
                builder.Add(batch);
        }

        return builder.Build();
    }

    /// <summary>Tells the format of a dataset file from its extension (case-insensitive).</summary>
    /// <param name="path">The file path or name.</param>
    /// <returns><see cref="DatasetFormat.Parquet"/> for <c>.parquet</c>, <see cref="DatasetFormat.Csv"/> for <c>.csv</c>,
    /// <see cref="DatasetFormat.Arrow"/> for <c>.arrow</c>, <c>.feather</c> and <c>.ipc</c>.</returns>
    /// <exception cref="ValidationException">The extension is none of these.</exception>
    public static DatasetFormat DetectFormat(string path)
    {
        Throw.IfNullOrWhitespace(path);
        var extension = Path.GetExtension(path);
        foreach (var (known, format) in Extensions)
        {
            if (string.Equals(extension, known, StringComparison.OrdinalIgnoreCase))
                return format;
        }

        var supported = string.Join(", ", Extensions.Select(e => e.Extension));
        var what = string.IsNullOrEmpty(extension) ? "it has no extension" : $"its extension '{extension}' is not a dataset format";
        throw new ValidationException(
            $"Cannot tell the format of the dataset file '{path}': {what}. Supported extensions: {supported}. Rename the file or pass the format explicitly.");
    }

    /// <summary>The name of a format as used in <see cref="DatasetProfile.Format"/>.</summary>
    public static string FormatName(DatasetFormat format) => format switch
    {
        DatasetFormat.Csv => "csv",
        DatasetFormat.Parquet => "parquet",
        DatasetFormat.Arrow => "arrow",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown dataset format."),
    };

    /// <summary>Accumulates a profile batch by batch.</summary>
    internal sealed class ProfileBuilder(string format)
    {
        private readonly List<IReadOnlyDictionary<string, object?>> _preview = [];
        private Schema? _schema;
        private DatasetColumn[] _columns = [];
        private ColumnAccumulator[] _accumulators = [];
        private long _rows;
        private int _batches;
        private DatasetProfile? _built;

        public void Add(RecordBatch batch)
        {
            ArgumentNullException.ThrowIfNull(batch);
            if (_built is not null)
                throw new InvalidStateException("The profile is already built; start a new one to add more batches.");
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
        /// The profile (built once; later calls return the same). The columns' statistics are built in parallel (each
        /// sorts its sample for the exact quartiles), then the accumulators give back their pooled memory.
        /// </summary>
        public DatasetProfile Build()
        {
            if (_built is not null)
                return _built;
            var statistics = new ColumnStatistics[_accumulators.Length];
            Parallel.For(0, _accumulators.Length, c => statistics[c] = _accumulators[c].Build());
            foreach (var a in _accumulators) a.Release();
            return _built = new()
            {
                Format = format,
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
}
