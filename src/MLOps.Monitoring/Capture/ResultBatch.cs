using Apache.Arrow;

namespace MLOps.Monitoring.Capture;

/// <summary>Builds the stored batch of recorded results: the capture's request columns, then the inputs and outputs renamed.</summary>
internal static class ResultBatch
{
    public static RecordBatch Build(string batchId, DateTimeOffset time, RecordBatch inputs, RecordBatch outputs)
    {
        int length = inputs.Length;
        var header = new CapturedRecord.HeaderBuilder(length);
        for (int i = 0; i < length; i++)
            header.Append($"{batchId}-{i}", i, time, null, 200, null);
        var fields = new List<Field>(CapturedRecord.HeaderFields);
        var arrays = header.Build();
        Add(fields, arrays, inputs, CaptureColumns.InputPrefix);
        Add(fields, arrays, outputs, CaptureColumns.OutputPrefix);
        return new RecordBatch(new Schema(fields, null), arrays, length);
    }

    private static void Add(List<Field> fields, List<IArrowArray> arrays, RecordBatch batch, string prefix)
    {
        for (int c = 0; c < batch.ColumnCount; c++)
        {
            var field = batch.Schema.GetFieldByIndex(c);
            fields.Add(new Field(prefix + field.Name, field.DataType, field.IsNullable));
            arrays.Add(batch.Column(c));
        }
    }
}
