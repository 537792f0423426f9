namespace MLOps.FeatureStore.Aggregations;

internal sealed partial class WindowAggregator
{
    /// <summary>The number of retained events of an entity at exactly a time.</summary>
    /// <param name="entityKey">The encoded entity key.</param>
    /// <param name="timestamp">The event time in microseconds since the Unix epoch (UTC).</param>
    /// <returns>The number of events (0 without state).</returns>
    public int EventsAt(string entityKey, long timestamp)
    {
        if (!_entities.TryGetValue(entityKey, out var st)) return 0;
        var ts = st.Ts.AsSpan(0, st.Count);
        var end = UpperBound(ts, timestamp);
        var start = end;
        while (start > 0 && ts[start - 1] == timestamp) start--;
        return end - start;
    }

    /// <summary>
    /// Removes up to <paramref name="count"/> retained events of an entity at exactly a time, the last arrived first, and
    /// returns them (for example real-time events that a batch may supersede, put back later with <see cref="Process"/>).
    /// The entity counts as touched.
    /// </summary>
    /// <param name="entityKey">The encoded entity key.</param>
    /// <param name="timestamp">The event time in microseconds since the Unix epoch (UTC).</param>
    /// <param name="count">The most events to remove.</param>
    /// <returns>The removed events in their retained order, each with one value per <see cref="InputColumns"/> entry.</returns>
    public List<double[]> TakeEvents(string entityKey, long timestamp, int count)
    {
        var taken = new List<double[]>();
        if (count <= 0 || !_entities.TryGetValue(entityKey, out var st)) return taken;
        var end = UpperBound(st.Ts.AsSpan(0, st.Count), timestamp);
        var start = end;
        while (start > 0 && end - start < count && st.Ts[start - 1] == timestamp) start--;
        if (start == end) return taken;
        for (var k = start; k < end; k++)
        {
            var values = new double[st.Values.Length];
            for (var c = 0; c < values.Length; c++) values[c] = st.Values[c][k];
            taken.Add(values);
        }

        var tail = st.Count - end;
        System.Array.Copy(st.Ts, end, st.Ts, start, tail);
        foreach (var column in st.Values) System.Array.Copy(column, end, column, start, tail);
        st.Count -= end - start;
        _touched.Add(entityKey);
        return taken;
    }
}
