using System.Buffers.Binary;
using System.Text;

namespace MLOps.FeatureStore.Aggregations;

internal sealed partial class WindowAggregator
{
    /// <summary>The version byte that starts a saved state.</summary>
    public const byte StateVersion = 1;

    /// <summary>
    /// Saves the entity's retained events in a compact binary form: the version byte, the input column names, the
    /// event count, the first timestamp (8 bytes) and the others as variable-length deltas, then the values column by
    /// column (8 bytes each, NaN for null). An entity without state saves as an empty state.
    /// </summary>
    /// <param name="entityKey">The encoded entity key.</param>
    /// <returns>The state, for <see cref="LoadState"/>.</returns>
    public byte[] SaveState(string entityKey)
    {
        ArgumentNullException.ThrowIfNull(entityKey);
        _entities.TryGetValue(entityKey, out var st);
        var count = st?.Count ?? 0;
        var size = 1 + VarIntSize((ulong)_inputColumns.Length) + VarIntSize((ulong)count);
        foreach (var column in _inputColumns)
        {
            var bytes = Encoding.UTF8.GetByteCount(column);
            size += VarIntSize((ulong)bytes) + bytes;
        }
        if (st is not null && count > 0)
        {
            size += 8;
            for (var k = 1; k < count; k++) size += VarIntSize((ulong)(st.Ts[k] - st.Ts[k - 1]));
            size += 8 * count * _inputColumns.Length;
        }

        var buffer = new byte[size];
        var span = buffer.AsSpan();
        span[0] = StateVersion;
        var at = 1;
        at += WriteVarInt(span[at..], (ulong)_inputColumns.Length);
        foreach (var column in _inputColumns)
        {
            at += WriteVarInt(span[at..], (ulong)Encoding.UTF8.GetByteCount(column));
            at += Encoding.UTF8.GetBytes(column, span[at..]);
        }
        at += WriteVarInt(span[at..], (ulong)count);
        if (st is not null && count > 0)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[at..], st.Ts[0]);
            at += 8;
            for (var k = 1; k < count; k++) at += WriteVarInt(span[at..], (ulong)(st.Ts[k] - st.Ts[k - 1]));
            foreach (var values in st.Values)
            {
                for (var k = 0; k < count; k++)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(span[at..], values[k]);
                    at += 8;
                }
            }
        }
        return buffer;
    }

    /// <summary>
    /// Replaces the entity's in-memory state with a saved one (it overwrites state already in memory: check
    /// <see cref="HasState"/> first to keep it). An empty span loads an empty state. Saved columns are matched by
    /// name: a column the state lacks reads as nulls, a column the aggregator no longer uses is dropped, and events
    /// beyond the largest window are trimmed.
    /// </summary>
    /// <param name="entityKey">The encoded entity key.</param>
    /// <param name="state">The bytes from <see cref="SaveState"/>.</param>
    /// <exception cref="ValidationException">The state is truncated, corrupt or of an unknown version.</exception>
    public void LoadState(string entityKey, ReadOnlySpan<byte> state)
    {
        ArgumentNullException.ThrowIfNull(entityKey);
        var st = new EntityState(entityKey, _inputColumns.Length);
        if (!state.IsEmpty) Read(st, state);
        _entities[entityKey] = st;
    }

    private void Read(EntityState st, ReadOnlySpan<byte> state)
    {
        if (state[0] != StateVersion)
            throw InvalidState(st.Key, $"it starts with version {state[0]}, and this version reads version {StateVersion}");
        var at = 1;
        var columns = ReadCount(st.Key, state, ref at);
        var map = new int[columns];
        for (var c = 0; c < columns; c++)
        {
            var length = ReadCount(st.Key, state, ref at);
            if (length > state.Length - at) throw InvalidState(st.Key, "a column name is truncated");
            var name = Encoding.UTF8.GetString(state.Slice(at, length));
            at += length;
            map[c] = System.Array.IndexOf(_inputColumns, name);
        }
        var count = ReadCount(st.Key, state, ref at);
        if (count == 0) return;
        if ((long)count * (8L * columns + 1) + 7 > state.Length - at) throw InvalidState(st.Key, "the events are truncated");

        var ts = new long[count];
        ts[0] = BinaryPrimitives.ReadInt64LittleEndian(state[at..]);
        at += 8;
        for (var k = 1; k < count; k++)
        {
            var delta = ReadVarInt(st.Key, state, ref at);
            if (delta > (ulong)(long.MaxValue - ts[k - 1])) throw InvalidState(st.Key, "a timestamp overflows");
            ts[k] = ts[k - 1] + (long)delta;
        }
        if (8L * count * columns != state.Length - at) throw InvalidState(st.Key, "the values do not match the event count");

        var latest = ts[count - 1];
        var keepFrom = _retention == 0 ? count
            : latest < long.MinValue + _retention ? 0
            : UpperBound(ts, latest - _retention);
        var keep = count - keepFrom;
        st.Resize(keep);
        ts.AsSpan(keepFrom).CopyTo(st.Ts);
        for (var c = 0; c < _inputColumns.Length; c++) st.Values[c].AsSpan(0, keep).Fill(double.NaN);
        for (var c = 0; c < columns; c++)
        {
            var target = map[c];
            if (target >= 0)
            {
                var values = st.Values[target];
                for (var k = keepFrom; k < count; k++)
                    values[k - keepFrom] = BinaryPrimitives.ReadDoubleLittleEndian(state[(at + 8 * k)..]);
            }
            at += 8 * count;
        }
        st.Count = keep;
    }

    private static ValidationException InvalidState(string entityKey, string problem) =>
        new($"The saved window state of entity '{entityKey}' is invalid: {problem}. Delete the entity's online state and re-ingest its recent events to rebuild it.");

    private static int ReadCount(string entityKey, ReadOnlySpan<byte> state, ref int at)
    {
        var value = ReadVarInt(entityKey, state, ref at);
        if (value > int.MaxValue) throw InvalidState(entityKey, "a count is out of range");
        return (int)value;
    }

    private static ulong ReadVarInt(string entityKey, ReadOnlySpan<byte> state, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= state.Length) throw InvalidState(entityKey, "it is truncated");
            var b = state[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw InvalidState(entityKey, "a number is too long");
    }

    private static int VarIntSize(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }
        return size;
    }

    private static int WriteVarInt(Span<byte> span, ulong value)
    {
        var at = 0;
        while (value >= 0x80)
        {
            span[at++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[at++] = (byte)value;
        return at;
    }
}
