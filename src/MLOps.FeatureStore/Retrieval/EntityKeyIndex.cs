using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow.Types;

namespace MLOps.FeatureStore.Retrieval;

/// <summary>
/// Maps the values of one or more entity key columns to dense integer ids (0, 1, 2, ... in order of first sight), so
/// that a join can compare one <see cref="int"/> per row instead of the key values. One index serves both sides of a
/// join: rows with equal keys get equal ids, whichever array they come from.
/// </summary>
/// <remarks>
/// <para>Supported key columns: <c>string</c> (compared by their UTF-8 bytes, hashed in place: no string is
/// allocated per row), <c>int8</c> to <c>int64</c> and <c>uint8</c> to <c>uint32</c> (compared by value, so an
/// <c>int32</c> 7 and an <c>int64</c> 7 are the same key) and <c>bool</c>. Values of different kinds never match:
/// the string "7" is not the integer 7.</para>
/// <para>A row with a null in any key column gets the id -1, which matches nothing.</para>
/// <para>A compound key (several columns) gets one id per distinct combination: the per-column ids are combined
/// pairwise, left to right.</para>
/// <para>Not thread-safe: an index grows as it sees new keys.</para>
/// </remarks>
internal sealed class EntityKeyIndex
{
    private readonly ColumnKeys[] _columns;
    private readonly Dictionary<long, int>[] _pairs;

    /// <summary>Creates an empty index for keys of <paramref name="keyColumnCount"/> columns.</summary>
    /// <param name="keyColumnCount">The number of entity key columns, at least 1.</param>
    public EntityKeyIndex(int keyColumnCount = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keyColumnCount);
        _columns = new ColumnKeys[keyColumnCount];
        for (var c = 0; c < keyColumnCount; c++) _columns[c] = new ColumnKeys();
        _pairs = new Dictionary<long, int>[keyColumnCount - 1];
        for (var c = 0; c < _pairs.Length; c++) _pairs[c] = [];
    }

    /// <summary>The number of key columns.</summary>
    public int KeyColumnCount => _columns.Length;

    /// <summary>The number of distinct keys seen so far; ids run from 0 to <c>Count - 1</c>.</summary>
    public int Count => _pairs.Length == 0 ? _columns[0].Count : _pairs[^1].Count;

    /// <summary>The ids of the rows of a single key column.</summary>
    /// <param name="keyColumn">The key values.</param>
    /// <returns>One id per row, -1 for a null key.</returns>
    public int[] GetIds(IArrowArray keyColumn) => GetIds([keyColumn]);

    /// <summary>The ids of the rows of the key columns.</summary>
    /// <param name="keyColumns">The key columns, in key order, all of the same length.</param>
    /// <returns>One id per row, -1 where a key value is null.</returns>
    public int[] GetIds(IReadOnlyList<IArrowArray> keyColumns)
    {
        Throw.IfNull(keyColumns);
        var ids = new int[keyColumns.Count == 0 ? 0 : keyColumns[0].Length];
        GetIds(keyColumns, ids);
        return ids;
    }

    /// <summary>Writes the ids of the rows of the key columns.</summary>
    /// <param name="keyColumns">The key columns, in key order, all of the same length.</param>
    /// <param name="ids">Receives one id per row, -1 where a key value is null; as long as the columns.</param>
    public void GetIds(IReadOnlyList<IArrowArray> keyColumns, Span<int> ids)
    {
        Throw.IfNull(keyColumns);
        if (keyColumns.Count != _columns.Length)
            throw new ArgumentException($"The index is for keys of {_columns.Length} column(s); {keyColumns.Count} were given.", nameof(keyColumns));
        for (var c = 0; c < keyColumns.Count; c++)
        {
            if (keyColumns[c] is null)
                throw new ArgumentException($"Key column {c} is null.", nameof(keyColumns));
            if (keyColumns[c].Length != ids.Length)
                throw new ArgumentException($"Key column {c} has {keyColumns[c].Length} rows; {ids.Length} ids were asked for.", nameof(keyColumns));
        }

        _columns[0].Map(keyColumns[0], ids);
        if (_columns.Length == 1) return;

        var other = new int[ids.Length];
        for (var c = 1; c < _columns.Length; c++)
        {
            _columns[c].Map(keyColumns[c], other);
            var pairs = _pairs[c - 1];
            for (var i = 0; i < ids.Length; i++)
            {
                var a = ids[i];
                var b = other[i];
                if (a < 0 || b < 0)
                {
                    ids[i] = -1;
                    continue;
                }

                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(pairs, ((long)a << 32) | (uint)b, out var exists);
                if (!exists) slot = pairs.Count - 1;
                ids[i] = slot;
            }
        }
    }

    /// <summary>The distinct values of one key column, each with a dense id; strings, integers and booleans share the id sequence.</summary>
    private sealed class ColumnKeys
    {
        private readonly Utf8Table _strings = new();
        private readonly Dictionary<long, int> _integers = [];
        private int _false = -1;
        private int _true = -1;

        public int Count { get; private set; }

        public void Map(IArrowArray column, Span<int> ids)
        {
            var data = column.Data;
            if (ids.IsEmpty && !IsSupported(data.DataType.TypeId))
                throw Unsupported(data.DataType);
            if (ids.IsEmpty) return; // an empty array's buffers may be empty, even the offsets'

            var offset = data.Offset;
            var validity = column.NullCount > 0 ? data.Buffers[0].Span : default;
            switch (data.DataType.TypeId)
            {
                case ArrowTypeId.String:
                    MapUtf8(data, validity, ids);
                    break;
                case ArrowTypeId.Int64:
                    MapIntegers(MemoryMarshal.Cast<byte, long>(data.Buffers[1].Span).Slice(offset, ids.Length), validity, offset, ids);
                    break;
                case ArrowTypeId.Int32:
                    MapIntegers(MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span).Slice(offset, ids.Length), validity, offset, ids);
                    break;
                case ArrowTypeId.Int16:
                    MapIntegers(MemoryMarshal.Cast<byte, short>(data.Buffers[1].Span).Slice(offset, ids.Length), validity, offset, ids);
                    break;
                case ArrowTypeId.Int8:
                    MapIntegers(MemoryMarshal.Cast<byte, sbyte>(data.Buffers[1].Span).Slice(offset, ids.Length), validity, offset, ids);
                    break;
                case ArrowTypeId.UInt32:
                    MapIntegers(MemoryMarshal.Cast<byte, uint>(data.Buffers[1].Span).Slice(offset, ids.Length), validity, offset, ids);
                    break;
                case ArrowTypeId.UInt16:
                    MapIntegers(MemoryMarshal.Cast<byte, ushort>(data.Buffers[1].Span).Slice(offset, ids.Length), validity, offset, ids);
                    break;
                case ArrowTypeId.UInt8:
                    MapIntegers(data.Buffers[1].Span.Slice(offset, ids.Length), validity, offset, ids);
                    break;
                case ArrowTypeId.Boolean:
                    MapBooleans(data.Buffers[1].Span, validity, offset, ids);
                    break;
                default:
                    throw Unsupported(data.DataType);
            }
        }

        private static bool IsSupported(ArrowTypeId type) => type is ArrowTypeId.String or ArrowTypeId.Int64 or ArrowTypeId.Int32
            or ArrowTypeId.Int16 or ArrowTypeId.Int8 or ArrowTypeId.UInt32 or ArrowTypeId.UInt16 or ArrowTypeId.UInt8 or ArrowTypeId.Boolean;

        private static NotSupportedException Unsupported(IArrowType type) => new(
            $"An entity key column of Arrow type {type.Name} cannot be indexed. Supported: string, int8 to int64, uint8 to uint32 and bool.");

        private void MapUtf8(ArrayData data, ReadOnlySpan<byte> validity, Span<int> ids)
        {
            var offset = data.Offset;
            var offsets = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span).Slice(offset, ids.Length + 1);
            var bytes = data.Buffers[2].Span;
            var hasNulls = !validity.IsEmpty;
            var count = Count;
            for (var i = 0; i < ids.Length; i++)
            {
                if (hasNulls && !BitUtility.GetBit(validity, offset + i))
                {
                    ids[i] = -1;
                    continue;
                }

                var start = offsets[i];
                ids[i] = _strings.GetOrAdd(bytes, start, offsets[i + 1] - start, ref count);
            }

            Count = count;
        }

        private void MapIntegers<T>(ReadOnlySpan<T> values, ReadOnlySpan<byte> validity, int offset, Span<int> ids)
            where T : unmanaged, System.Numerics.IBinaryInteger<T>
        {
            var hasNulls = !validity.IsEmpty;
            for (var i = 0; i < ids.Length; i++)
            {
                if (hasNulls && !BitUtility.GetBit(validity, offset + i))
                {
                    ids[i] = -1;
                    continue;
                }

                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_integers, long.CreateTruncating(values[i]), out var exists);
                if (!exists) slot = Count++;
                ids[i] = slot;
            }
        }

        private void MapBooleans(ReadOnlySpan<byte> values, ReadOnlySpan<byte> validity, int offset, Span<int> ids)
        {
            var hasNulls = !validity.IsEmpty;
            for (var i = 0; i < ids.Length; i++)
            {
                if (hasNulls && !BitUtility.GetBit(validity, offset + i))
                {
                    ids[i] = -1;
                    continue;
                }

                ref var id = ref BitUtility.GetBit(values, offset + i) ? ref _true : ref _false;
                if (id < 0) id = Count++;
                ids[i] = id;
            }
        }
    }

    /// <summary>An open-addressing hash table from UTF-8 byte strings to ids; the keys are copied once into one byte arena.</summary>
    private sealed class Utf8Table
    {
        private int[] _slots = new int[64]; // entry + 1, 0 = empty; the length is a power of 2
        private ulong[] _hashes = new ulong[32];
        private int[] _starts = new int[32];
        private int[] _lengths = new int[32];
        private int[] _ids = new int[32];
        private ulong[] _packed = new ulong[32]; // the bytes of a key of up to 8 bytes, little-endian
        private byte[] _arena = new byte[256];
        private int _arenaUsed;
        private int _entries;

        /// <summary>
        /// The id of the key at <paramref name="start"/> in <paramref name="buffer"/>; a new key takes <paramref name="next"/>,
        /// which is then incremented. A key of up to 8 bytes is compared as one <see cref="ulong"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int GetOrAdd(ReadOnlySpan<byte> buffer, int start, int length, ref int next)
        {
            if (length > 8) return GetOrAddLong(buffer.Slice(start, length), ref next);

            ulong packed;
            if (start + 8 <= buffer.Length)
            {
                packed = BinaryPrimitives.ReadUInt64LittleEndian(buffer[start..]) & (length == 8 ? ulong.MaxValue : (1UL << (length << 3)) - 1);
            }
            else
            {
                packed = 0;
                for (var k = length - 1; k >= 0; k--) packed = (packed << 8) | buffer[start + k];
            }

            var hash = Mix(packed + ((ulong)length * 0x9E3779B97F4A7C15UL));
            var mask = _slots.Length - 1;
            var slot = (int)hash & mask;
            while (true)
            {
                var entry = _slots[slot] - 1;
                if (entry < 0) return Add(buffer.Slice(start, length), hash, packed, slot, ref next);
                if (_hashes[entry] == hash && _lengths[entry] == length && _packed[entry] == packed)
                    return _ids[entry];
                slot = (slot + 1) & mask;
            }
        }

        private int GetOrAddLong(ReadOnlySpan<byte> key, ref int next)
        {
            var hash = Hash(key);
            var mask = _slots.Length - 1;
            var slot = (int)hash & mask;
            while (true)
            {
                var entry = _slots[slot] - 1;
                if (entry < 0) return Add(key, hash, 0, slot, ref next);
                if (_hashes[entry] == hash && key.SequenceEqual(_arena.AsSpan(_starts[entry], _lengths[entry])))
                    return _ids[entry];
                slot = (slot + 1) & mask;
            }
        }

        private int Add(ReadOnlySpan<byte> key, ulong hash, ulong packed, int slot, ref int next)
        {
            var entry = _entries++;
            if (entry == _hashes.Length)
            {
                var size = entry * 2;
                System.Array.Resize(ref _hashes, size);
                System.Array.Resize(ref _starts, size);
                System.Array.Resize(ref _lengths, size);
                System.Array.Resize(ref _ids, size);
                System.Array.Resize(ref _packed, size);
            }

            if (_arenaUsed + key.Length > _arena.Length)
                System.Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaUsed + key.Length));
            key.CopyTo(_arena.AsSpan(_arenaUsed));
            _hashes[entry] = hash;
            _starts[entry] = _arenaUsed;
            _lengths[entry] = key.Length;
            _ids[entry] = next++;
            _packed[entry] = packed;
            _arenaUsed += key.Length;
            _slots[slot] = entry + 1;
            if (_entries * 2 > _slots.Length) Grow();
            return _ids[entry];
        }

        private void Grow()
        {
            var slots = new int[_slots.Length * 2];
            var mask = slots.Length - 1;
            for (var e = 0; e < _entries; e++)
            {
                var slot = (int)_hashes[e] & mask;
                while (slots[slot] != 0) slot = (slot + 1) & mask;
                slots[slot] = e + 1;
            }

            _slots = slots;
        }

        /// <summary>A 64-bit hash of a byte string: 8 bytes at a time, then a final avalanche (MurmurHash3's fmix64).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong Hash(ReadOnlySpan<byte> key)
        {
            var h = 0x9E3779B97F4A7C15UL ^ (ulong)key.Length;
            var i = 0;
            for (; i + 8 <= key.Length; i += 8)
                h = System.Numerics.BitOperations.RotateLeft((h ^ BinaryPrimitives.ReadUInt64LittleEndian(key[i..])) * 0x87C37B91114253D5UL, 31);
            if (i < key.Length)
            {
                ulong tail = 0;
                for (var k = key.Length - 1; k >= i; k--) tail = (tail << 8) | key[k];
                h = (h ^ tail) * 0x4CF5AD432745937FUL;
            }

            return Mix(h);
        }

        /// <summary>MurmurHash3's 64-bit finalizer: every input bit affects every output bit.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong Mix(ulong h)
        {
            h ^= h >> 33;
            h *= 0xFF51AFD7ED558CCDUL;
            h ^= h >> 33;
            h *= 0xC4CEB9FE1A85EC53UL;
            h ^= h >> 33;
            return h;
        }
    }
}
