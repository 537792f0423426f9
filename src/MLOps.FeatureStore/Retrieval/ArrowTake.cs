using System.Numerics;
using System.Runtime.InteropServices;
using Apache.Arrow.Types;

namespace MLOps.FeatureStore.Retrieval;

/// <summary>
/// Gathers rows of Arrow arrays by position into a new array ("take"), index -1 giving a null: the columnar half of a
/// join, once <see cref="AsOfJoin"/> has said which right row each left row gets.
/// </summary>
/// <remarks>
/// Supported: every fixed-width type of 1, 2, 4 or 8 bytes (integers, floating-point numbers, timestamps, dates,
/// times, durations), <c>bool</c>, <c>string</c> and <c>binary</c>. The value buffers and validity bitmaps are built
/// directly in managed memory (64-byte padded), one pass per chunk, without array builders or boxing. The result keeps
/// the source's data type (a timestamp's unit and time zone included) and has no validity bitmap when nothing is null.
/// </remarks>
internal static class ArrowTake
{
    /// <summary>Takes rows of one array.</summary>
    /// <param name="source">The array.</param>
    /// <param name="indices">The rows to take, in output order; -1 gives a null.</param>
    /// <returns>An array of <c>indices.Length</c> rows of the source's type.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An index is below -1 or past the end of the source.</exception>
    /// <exception cref="NotSupportedException">The source's type is not supported.</exception>
    public static IArrowArray Take(IArrowArray source, ReadOnlySpan<int> indices)
    {
        Throw.IfNull(source);
        return Take([source], indices);
    }

    /// <summary>Takes rows of a column cut into chunks (for example one per record batch).</summary>
    /// <param name="chunks">The chunks, at least one (an empty one will do, for the type), all of the same type.</param>
    /// <param name="globalIndices">The rows to take, in output order, numbered over the chunks laid end to end; -1 gives a null.</param>
    /// <returns>An array of <c>globalIndices.Length</c> rows of the chunks' type.</returns>
    /// <exception cref="ArgumentException">There is no chunk, or the chunks' types differ.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is below -1 or past the end of the chunks.</exception>
    /// <exception cref="NotSupportedException">The chunks' type is not supported.</exception>
    public static IArrowArray Take(IReadOnlyList<IArrowArray> chunks, ReadOnlySpan<int> globalIndices)
    {
        Throw.IfNull(chunks);
        if (chunks.Count == 0)
            throw new ArgumentException("At least one chunk is needed, if only for the type of the result.", nameof(chunks));
        var type = chunks[0].Data.DataType;
        long total = 0;
        for (var c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c] ?? throw new ArgumentException($"Chunk {c} is null.", nameof(chunks));
            if (!SameType(type, chunk.Data.DataType))
                throw new ArgumentException($"Chunk {c} has the type {chunk.Data.DataType.Name}, chunk 0 {type.Name}; the chunks of a column must share one type.", nameof(chunks));
            total += chunk.Length;
        }

        var plan = Plan.Create(chunks, total, globalIndices);
        return type switch
        {
            BooleanType => TakeBooleans(type, chunks, plan),
            StringType or BinaryType => TakeBinary(type, chunks, plan),
            FixedWidthType { BitWidth: 8 } => TakeFixed<byte>(type, chunks, plan),
            FixedWidthType { BitWidth: 16 } => TakeFixed<short>(type, chunks, plan),
            FixedWidthType { BitWidth: 32 } => TakeFixed<int>(type, chunks, plan),
            FixedWidthType { BitWidth: 64 } => TakeFixed<long>(type, chunks, plan),
            _ => throw new NotSupportedException(
                $"Columns of Arrow type {type.Name} cannot be gathered. Supported: fixed-width types of 1 to 8 bytes (integers, floating point, timestamps, dates, times, durations), bool, string and binary."),
        };
    }

    private static bool SameType(IArrowType a, IArrowType b) => (a, b) switch
    {
        (TimestampType x, TimestampType y) => x.Unit == y.Unit && x.Timezone == y.Timezone,
        (FixedWidthType x, FixedWidthType y) => x.TypeId == y.TypeId && x.BitWidth == y.BitWidth,
        _ => a.TypeId == b.TypeId,
    };

    private static IArrowArray TakeFixed<T>(IArrowType type, IReadOnlyList<IArrowArray> chunks, Plan plan)
        where T : unmanaged
    {
        var length = plan.Length;
        var values = NewBuffer(checked(length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()));
        var validity = NewBuffer(BitmapBytes(length));
        var output = MemoryMarshal.Cast<byte, T>(values.AsSpan());
        for (var c = 0; c < chunks.Count; c++)
        {
            var locals = plan.Of(c, out var positions);
            if (locals.IsEmpty) continue;
            var data = chunks[c].Data;
            var source = MemoryMarshal.Cast<byte, T>(data.Buffers[1].Span)[data.Offset..];
            var sourceValidity = chunks[c].NullCount > 0 ? data.Buffers[0].Span : default;
            for (var k = 0; k < locals.Length; k++)
            {
                var local = locals[k];
                if (local < 0) continue;
                if (!sourceValidity.IsEmpty && !BitUtility.GetBit(sourceValidity, data.Offset + local)) continue;
                var at = positions.IsEmpty ? k : positions[k];
                output[at] = source[local];
                validity[at >> 3] |= (byte)(1 << (at & 7));
            }
        }

        return Build(type, length, validity, values);
    }

    private static IArrowArray TakeBooleans(IArrowType type, IReadOnlyList<IArrowArray> chunks, Plan plan)
    {
        var length = plan.Length;
        var values = NewBuffer(BitmapBytes(length));
        var validity = NewBuffer(BitmapBytes(length));
        for (var c = 0; c < chunks.Count; c++)
        {
            var locals = plan.Of(c, out var positions);
            if (locals.IsEmpty) continue;
            var data = chunks[c].Data;
            var source = data.Buffers[1].Span;
            var sourceValidity = chunks[c].NullCount > 0 ? data.Buffers[0].Span : default;
            for (var k = 0; k < locals.Length; k++)
            {
                var local = locals[k];
                if (local < 0) continue;
                if (!sourceValidity.IsEmpty && !BitUtility.GetBit(sourceValidity, data.Offset + local)) continue;
                var at = positions.IsEmpty ? k : positions[k];
                var bit = (byte)(1 << (at & 7));
                if (BitUtility.GetBit(source, data.Offset + local)) values[at >> 3] |= bit;
                validity[at >> 3] |= bit;
            }
        }

        return Build(type, length, validity, values);
    }

    private static IArrowArray TakeBinary(IArrowType type, IReadOnlyList<IArrowArray> chunks, Plan plan)
    {
        var length = plan.Length;
        var offsetBytes = NewBuffer(checked((length + 1) * sizeof(int)));
        var offsets = MemoryMarshal.Cast<byte, int>(offsetBytes.AsSpan());
        var validity = NewBuffer(BitmapBytes(length));

        // First the length of each value (at offsets[at + 1]) and the validity, then the offsets, then the bytes.
        for (var c = 0; c < chunks.Count; c++)
        {
            var locals = plan.Of(c, out var positions);
            if (locals.IsEmpty) continue;
            var data = chunks[c].Data;
            var sourceOffsets = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span)[data.Offset..];
            var sourceValidity = chunks[c].NullCount > 0 ? data.Buffers[0].Span : default;
            for (var k = 0; k < locals.Length; k++)
            {
                var local = locals[k];
                if (local < 0) continue;
                if (!sourceValidity.IsEmpty && !BitUtility.GetBit(sourceValidity, data.Offset + local)) continue;
                var at = positions.IsEmpty ? k : positions[k];
                offsets[at + 1] = sourceOffsets[local + 1] - sourceOffsets[local];
                validity[at >> 3] |= (byte)(1 << (at & 7));
            }
        }

        long sum = 0;
        for (var i = 1; i <= length; i++)
        {
            sum += offsets[i];
            offsets[i] = (int)sum;
        }

        if (sum > int.MaxValue)
            throw new NotSupportedException($"The gathered values hold {sum} bytes, more than a {type.Name} array can (2 GiB).");
        var bytes = NewBuffer((int)sum);
        for (var c = 0; c < chunks.Count; c++)
        {
            var locals = plan.Of(c, out var positions);
            if (locals.IsEmpty) continue;
            var data = chunks[c].Data;
            var sourceOffsets = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span)[data.Offset..];
            var sourceBytes = data.Buffers[2].Span;
            for (var k = 0; k < locals.Length; k++)
            {
                var local = locals[k];
                if (local < 0) continue;
                var at = positions.IsEmpty ? k : positions[k];
                var start = offsets[at];
                var size = offsets[at + 1] - start;
                if (size > 0) sourceBytes.Slice(sourceOffsets[local], size).CopyTo(bytes.AsSpan(start));
            }
        }

        var nulls = NullCount(validity, length);
        return ArrowArrayFactory.BuildArray(new ArrayData(
            type, length, nulls, 0, [nulls == 0 ? ArrowBuffer.Empty : new ArrowBuffer(validity), new ArrowBuffer(offsetBytes), new ArrowBuffer(bytes)]));
    }

    private static IArrowArray Build(IArrowType type, int length, byte[] validity, byte[] values)
    {
        var nulls = NullCount(validity, length);
        return ArrowArrayFactory.BuildArray(new ArrayData(
            type, length, nulls, 0, [nulls == 0 ? ArrowBuffer.Empty : new ArrowBuffer(validity), new ArrowBuffer(values)]));
    }

    private static int NullCount(byte[] validity, int length)
    {
        var set = 0;
        var whole = length >> 3;
        var words = MemoryMarshal.Cast<byte, ulong>(validity.AsSpan(0, whole & ~7));
        foreach (var w in words) set += BitOperations.PopCount(w);
        for (var i = whole & ~7; i < whole; i++) set += BitOperations.PopCount(validity[i]);
        for (var i = whole << 3; i < length; i++)
        {
            if ((validity[i >> 3] & (1 << (i & 7))) != 0) set++;
        }

        return length - set;
    }

    private static int BitmapBytes(int length) => (length + 7) >> 3;

    /// <summary>A zeroed buffer of at least <paramref name="bytes"/> bytes, padded to a multiple of 64 as Arrow recommends.</summary>
    private static byte[] NewBuffer(int bytes) => new byte[checked((bytes + 63) & ~63)];

    /// <summary>
    /// Which output positions each chunk fills, from which of its rows. One chunk: the indices themselves, in output
    /// order. Several: the (position, row) pairs grouped by chunk (a counting sort), so each chunk's buffers are read in
    /// one pass; a -1 index belongs to no chunk and stays null.
    /// </summary>
    private readonly ref struct Plan
    {
        private readonly ReadOnlySpan<int> _single;
        private readonly int[]? _starts;
        private readonly int[]? _positions;
        private readonly int[]? _locals;

        private Plan(int length, ReadOnlySpan<int> single, int[]? starts, int[]? positions, int[]? locals)
        {
            Length = length;
            _single = single;
            _starts = starts;
            _positions = positions;
            _locals = locals;
        }

        public int Length { get; }

        public static Plan Create(IReadOnlyList<IArrowArray> chunks, long total, ReadOnlySpan<int> indices)
        {
            foreach (var index in indices)
            {
                if (index < -1 || index >= total)
                    throw new ArgumentOutOfRangeException(nameof(indices), index, $"A row index must be -1 (null) or from 0 to {total - 1}.");
            }

            if (chunks.Count == 1)
                return new Plan(indices.Length, indices, null, null, null);

            var ends = new int[chunks.Count];
            var end = 0;
            for (var c = 0; c < ends.Length; c++) ends[c] = end += chunks[c].Length;

            // Chunk of each index (a binary search over the chunk ends, the previous chunk tried first), counted per chunk.
            var chunkOf = GC.AllocateUninitializedArray<int>(indices.Length);
            var starts = new int[chunks.Count + 1];
            var last = 0;
            for (var i = 0; i < indices.Length; i++)
            {
                var index = indices[i];
                if (index < 0)
                {
                    chunkOf[i] = -1;
                    continue;
                }

                if (index >= ends[last] || (last > 0 && index < ends[last - 1]))
                {
                    var found = ends.AsSpan().BinarySearch(index);
                    last = found >= 0 ? found + 1 : ~found; // an index equal to a chunk's end is the next chunk's first row
                    while (ends[last] == (last == 0 ? 0 : ends[last - 1])) last++; // skip empty chunks
                }

                chunkOf[i] = last;
                starts[last + 1]++;
            }

            for (var c = 1; c < starts.Length; c++) starts[c] += starts[c - 1];
            var next = starts.AsSpan(0, chunks.Count).ToArray();
            var positions = GC.AllocateUninitializedArray<int>(starts[^1]);
            var locals = GC.AllocateUninitializedArray<int>(starts[^1]);
            for (var i = 0; i < indices.Length; i++)
            {
                var c = chunkOf[i];
                if (c < 0) continue;
                var to = next[c]++;
                positions[to] = i;
                locals[to] = indices[i] - (c == 0 ? 0 : ends[c - 1]);
            }

            return new Plan(indices.Length, default, starts, positions, locals);
        }

        /// <summary>The rows of chunk <paramref name="chunk"/> to take (-1: null) and the output positions they fill (<paramref name="positions"/>; empty: 0, 1, 2, ...).</summary>
        public ReadOnlySpan<int> Of(int chunk, out ReadOnlySpan<int> positions)
        {
            if (_starts is null)
            {
                positions = default;
                return _single;
            }

            var range = _starts[chunk].._starts[chunk + 1];
            positions = _positions.AsSpan(range);
            return _locals.AsSpan(range);
        }
    }
}
