using System.Collections.ObjectModel;
using System.Globalization;
using System.Reflection;
using Microsoft.ML.Data;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Models;

/// <summary>The CLR type of a feature or output column an <see cref="MLNetModel{TInput, TOutput}"/> maps.</summary>
internal enum ColumnKind
{
    Single,
    Double,
    Int32,
    Int64,
    UInt32,
    Boolean,
    String,
    SingleVector,
}

/// <summary>One input feature or output column: a property of the row type, its protocol name, datatype and width.</summary>
internal sealed class ColumnBinding
{
    private ColumnBinding(Type rowType, string name, PropertyInfo property, ColumnKind kind, int vectorSize, bool input)
    {
        Name = name;
        Kind = kind;
        VectorSize = vectorSize;
        // Open-instance delegates over the property's accessors: typed calls, no reflection invoke and no boxing per value.
        Accessor = input
            ? Delegate.CreateDelegate(typeof(Action<,>).MakeGenericType(rowType, property.PropertyType), property.SetMethod!)
            : Delegate.CreateDelegate(typeof(Func<,>).MakeGenericType(rowType, property.PropertyType), property.GetMethod!);
    }

    /// <summary>The tensor (and ML.NET column) name: the <c>[ColumnName]</c> or the property name.</summary>
    public string Name { get; }

    /// <summary>The typed setter (<c>Action&lt;TRow, TValue&gt;</c>) of an input column, or the typed getter
    /// (<c>Func&lt;TRow, TValue&gt;</c>) of an output column.</summary>
    private Delegate Accessor { get; }

    /// <summary>The typed setter of an input column.</summary>
    public Action<TRow, TValue> Setter<TRow, TValue>() => (Action<TRow, TValue>)Accessor;

    /// <summary>The typed getter of an output column.</summary>
    public Func<TRow, TValue> Getter<TRow, TValue>() => (Func<TRow, TValue>)Accessor;

    public ColumnKind Kind { get; }

    /// <summary>The number of values of a vector column from <c>[VectorType(n)]</c>, 0 when unknown; 1 for a scalar.</summary>
    public int VectorSize { get; }

    public bool IsVector => Kind == ColumnKind.SingleVector;

    public TensorDataType DataType => Kind switch
    {
        ColumnKind.Single or ColumnKind.SingleVector => TensorDataType.Fp32,
        ColumnKind.Double => TensorDataType.Fp64,
        ColumnKind.Int32 => TensorDataType.Int32,
        ColumnKind.Int64 => TensorDataType.Int64,
        ColumnKind.UInt32 => TensorDataType.UInt32,
        ColumnKind.Boolean => TensorDataType.Bool,
        _ => TensorDataType.Bytes,
    };

    public string DataTypeName => DataType.ToProtocolName();

    public TensorMetadata ToMetadata() => IsVector
        ? new TensorMetadata(Name, DataType, -1, VectorSize > 0 ? VectorSize : -1)
        : new TensorMetadata(Name, DataType, -1);

    public override string ToString() => IsVector
        ? $"{Name} ({DataTypeName}[{(VectorSize > 0 ? VectorSize.ToString(CultureInfo.InvariantCulture) : "-1")}])"
        : $"{Name} ({DataTypeName})";

    /// <summary>The public settable (inputs) or readable (outputs) properties of a row type, in declaration order.</summary>
    public static IReadOnlyList<ColumnBinding> For(Type rowType, bool inputs)
    {
        var columns = new List<ColumnBinding>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in rowType.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (property.GetIndexParameters().Length > 0 || property.IsDefined(typeof(NoColumnAttribute), inherit: true)) continue;
            if (inputs ? property.SetMethod is not { IsPublic: true } : property.GetMethod is not { IsPublic: true }) continue;
            var kind = KindOf(property.PropertyType)
                ?? throw new ArgumentException(
                    $"{rowType.Name}.{property.Name} is a {property.PropertyType.Name}; an MLNetModel maps float, double, int, long, uint, bool, string and float[] properties. Mark it [NoColumn] to leave it out.",
                    nameof(rowType));
            if (inputs && kind == ColumnKind.UInt32)
                throw new ArgumentException($"{rowType.Name}.{property.Name} is a uint (a key); an input feature must be float, double, int, long, bool, string or float[].", nameof(rowType));
            var name = ColumnNameOf(property) ?? property.Name;
            if (!names.Add(name))
                throw new ArgumentException($"{rowType.Name} has two columns named '{name}'.", nameof(rowType));
            columns.Add(new ColumnBinding(rowType, name, property, kind, kind == ColumnKind.SingleVector ? VectorSizeOf(property) : 1, inputs));
        }
        if (columns.Count == 0)
            throw new ArgumentException($"{rowType.Name} has no public {(inputs ? "settable" : "readable")} properties to map.", nameof(rowType));
        return columns;
    }

    private static ColumnKind? KindOf(Type type) => type switch
    {
        _ when type == typeof(float) => ColumnKind.Single,
        _ when type == typeof(double) => ColumnKind.Double,
        _ when type == typeof(int) => ColumnKind.Int32,
        _ when type == typeof(long) => ColumnKind.Int64,
        _ when type == typeof(uint) => ColumnKind.UInt32,
        _ when type == typeof(bool) => ColumnKind.Boolean,
        _ when type == typeof(string) => ColumnKind.String,
        _ when type == typeof(float[]) => ColumnKind.SingleVector,
        _ => null,
    };

    private static string? ColumnNameOf(PropertyInfo property)
    {
        var data = property.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType == typeof(ColumnNameAttribute));
        return data is { ConstructorArguments.Count: > 0 } && data.ConstructorArguments[0].Value is string name && !string.IsNullOrWhiteSpace(name)
            ? name
            : null;
    }

    private static int VectorSizeOf(PropertyInfo property)
    {
        var data = property.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType == typeof(VectorTypeAttribute));
        if (data is null || data.ConstructorArguments.Count == 0) return 0;
        int size = 1;
        foreach (var argument in data.ConstructorArguments)
        {
            switch (argument.Value)
            {
                case int dim:
                    size *= dim;
                    break;
                case ReadOnlyCollection<CustomAttributeTypedArgument> dims:
                    foreach (var dim in dims) size *= (int)dim.Value!;
                    break;
                default:
                    return 0;
            }
        }
        return size > 0 ? size : 0;
    }
}
