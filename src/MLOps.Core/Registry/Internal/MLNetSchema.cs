using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLOps.Registry.Internal;

/// <summary>Conversions between ML.NET schemas and the registry's <see cref="ModelColumn"/> lists.</summary>
internal static class MLNetSchema
{
    /// <summary>The visible columns of a schema, with ML.NET's type names (<c>Single</c>, <c>String</c>, <c>Vector&lt;Single, 4&gt;</c>).</summary>
    public static List<ModelColumn> ToColumns(DataViewSchema schema)
        => [.. schema.Where(c => !c.IsHidden).Select(c => new ModelColumn(c.Name, TypeName(c.Type)))];

    /// <summary>ML.NET's name of a column type: <c>Single</c>, <c>String</c>, <c>Boolean</c>, <c>Vector&lt;Single, 4&gt;</c>, <c>Key&lt;UInt32, 0-9&gt;</c>.</summary>
    public static string TypeName(DataViewType type) => type.ToString() ?? type.RawType.Name;

    /// <summary>Describes columns as <c>Name (Type), ...</c> for messages.</summary>
    public static string Describe(IEnumerable<DataViewSchema.Column> columns)
    {
        var text = string.Join(", ", columns.Where(c => !c.IsHidden).Select(c => $"{c.Name} ({TypeName(c.Type)})"));
        return text.Length == 0 ? "(none)" : text;
    }

    /// <summary>A copy of <paramref name="schema"/> without the column named <paramref name="name"/>.</summary>
    public static DataViewSchema Without(DataViewSchema schema, string name)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var c in schema)
            if (!c.IsHidden && c.Name != name) builder.AddColumn(c.Name, c.Type, c.Annotations);
        return builder.ToSchema();
    }

    /// <summary>Whether <paramref name="model"/> accepts <paramref name="schema"/> as input; the ML.NET error when it does not.</summary>
    public static bool Accepts(ITransformer model, DataViewSchema schema, out string? error)
    {
        try
        {
            model.GetOutputSchema(schema);
            error = null;
            return true;
        }
        catch (Exception e) when (IsSchemaError(e))
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>The exceptions ML.NET throws for schema mismatches and unsupported types.</summary>
    public static bool IsSchemaError(Exception e) => e is ArgumentException or InvalidOperationException or FormatException or NotSupportedException;
}
