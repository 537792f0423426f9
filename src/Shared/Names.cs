using System.Globalization;
using System.Text.RegularExpressions;

namespace MLOps.Internal;

/// <summary>Validation of the names and keys users give (projects, runs, models, artifacts, labels).</summary>
internal static partial class Names
{
    [GeneratedRegex("^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$")]
    private static partial Regex ProjectRegex();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")]
    private static partial Regex ArtifactKeyRegex();

    /// <summary>Project names: lower case letters, digits, '-' and '_', 1-63 characters, as in MLRun.</summary>
    public static string Project(string? name, string field = "project name")
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ValidationException($"The {field} is {Describe(name)}. Use lower-case letters, digits, '-' and '_', e.g. 'flights'.");
        if (!ProjectRegex().IsMatch(name))
            throw new ValidationException($"The {field} '{name}' is invalid. Use 1-63 lower-case letters, digits, '-' and '_', starting and ending with a letter or digit, e.g. '{Suggest(name)}'.");
        return name;
    }

    /// <summary>Names of runs, models, parameters, metrics, labels, tags and aliases.</summary>
    public static string Name(string? name, string field)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ValidationException($"The {field} is {Describe(name)}. Use letters, digits, '_', '-' and '.', e.g. 'train'.");
        if (!NameRegex().IsMatch(name))
            throw new ValidationException($"The {field} '{name}' is invalid. Use 1-128 letters, digits, '_', '-' and '.', starting with a letter or digit, e.g. '{Suggest(name)}'.");
        return name;
    }

    /// <summary>Tags of stored specs (feature sets, vectors, serving graphs): names that are not numbers, which would read as versions.</summary>
    public static string SpecTag(string? tag)
    {
        Name(tag, "tag");
        if (int.TryParse(tag, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
            throw new ValidationException($"The tag '{tag}' is a number, which would read as a version. Use a name such as 'production'.");
        return tag!;
    }

    /// <summary>Keys of metrics and parameters may also contain '/' (e.g. 'train/loss'), but no traversal.</summary>
    public static string Key(string? key, string field)
    {
        if (string.IsNullOrWhiteSpace(key))
            throw new ValidationException($"The {field} is {Describe(key)}. Use letters, digits, '_', '-', '.' and '/', e.g. 'auc' or 'train/loss'.");
        if (key.Length > 250 || !ArtifactKeyRegex().IsMatch(key) || key.Split('/').Any(p => p is "." or ".."))
            throw new ValidationException($"The {field} '{key}' is invalid. Use up to 250 letters, digits, '_', '-', '.' and '/' separated segments (no leading '/', no '..'), e.g. 'auc' or 'train/loss'.");
        return key;
    }

    /// <summary>Artifact keys: relative, '/'-separated, no traversal, no absolute paths.</summary>
    public static string ArtifactKey(string? key)
    {
        if (string.IsNullOrWhiteSpace(key))
            throw new ValidationException($"The artifact key is {Describe(key)}. Use a relative name such as 'flights' or 'reports/confusion-matrix'.");
        if (Path.IsPathRooted(key) || key.StartsWith('/') || key.StartsWith('\\') || key.Contains(':', StringComparison.Ordinal))
            throw new ValidationException($"The artifact key '{key}' is an absolute path. Use a relative name such as 'reports/{Path.GetFileName(key.TrimEnd('/', '\\'))}'.");
        if (key.Contains('\\', StringComparison.Ordinal) || key.Split('/').Any(p => p is "." or ".."))
            throw new ValidationException($"The artifact key '{key}' contains a path traversal ('..', '.' or '\\'). Use '/'-separated names without '..', e.g. 'reports/metrics'.");
        if (key.Length > 250 || !ArtifactKeyRegex().IsMatch(key))
            throw new ValidationException($"The artifact key '{key}' is invalid. Use up to 250 letters, digits, '_', '-', '.' and '/', each segment starting with a letter, digit or '_', e.g. '{Suggest(key)}'.");
        return key;
    }

    /// <summary>A required text input (an id, a path, a URI, a file name): null, empty or white space is a
    /// <see cref="ValidationException"/> naming the field, the value and the fix.</summary>
    /// <param name="value">The value.</param>
    /// <param name="field">What it is, e.g. "run id".</param>
    /// <param name="fix">What to pass instead, e.g. "Pass the Id of a run of this project (run.Id)."</param>
    /// <returns>The value.</returns>
    public static string Required([System.Diagnostics.CodeAnalysis.NotNull] string? value, string field, string fix)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ValidationException($"The {field} is {Describe(value)}. {fix}");
        return value;
    }

    /// <summary>A run id: required; whether the run exists is checked by the caller.</summary>
    public static string RunId([System.Diagnostics.CodeAnalysis.NotNull] string? runId, string field = "run id")
        => Required(runId, field, "Pass the Id of a run of this project (run.Id, or one found with project.Runs.SearchAsync()).");

    /// <summary>How an empty value reads in a message: missing (null), empty ('') or white space ('  ').</summary>
    public static string Describe(string? value) => value is null ? "missing (null)" : value.Length == 0 ? "empty ('')" : $"only white space ('{value}')";

    /// <summary>At most <paramref name="max"/> names for a message, then "and N more": <c>a, b, c and 4 more</c>;
    /// <paramref name="none"/> when there are none.</summary>
    public static string ListSome(IEnumerable<string> names, string none = "none", int max = 20)
    {
        var all = names.ToList();
        if (all.Count == 0) return none;
        var shown = string.Join(", ", all.Take(max));
        return all.Count > max ? $"{shown} and {all.Count - max} more" : shown;
    }

    private static string Suggest(string value)
    {
        var chars = value.Trim().ToLower(CultureInfo.InvariantCulture).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' ? c : '-').ToArray();
        var s = new string(chars).Trim('-', '_', '.', '/');
        s = s.Replace("..", ".", StringComparison.Ordinal);
        return s.Length == 0 ? "my-name" : s.Length > 60 ? s[..60] : s;
    }
}
