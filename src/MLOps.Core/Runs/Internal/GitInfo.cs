using System.Collections.Concurrent;
using System.Diagnostics;

namespace MLOps.Runs.Internal;

/// <summary>
/// The git commit and dirty flag of a work tree. The commit is read from the repository's files (<c>.git</c> or a
/// <c>gitdir:</c> file, <c>HEAD</c>, loose refs, <c>packed-refs</c>, a linked worktree's <c>commondir</c>) without
/// starting a process. The dirty flag needs a comparison of the work tree with the index, which only git does correctly
/// (stat data, racy entries, filters, sparse checkouts, submodules): it costs one <c>git status</c> call, cached for a few
/// seconds per work tree and commit, and is null when git is not installed. A repository whose refs are in the binary
/// reftable format is read with one <c>git rev-parse</c>.
/// </summary>
internal static class GitInfo
{
    private static readonly ConcurrentDictionary<string, (long At, string Commit, bool? Dirty)> DirtyCache = new(StringComparer.Ordinal);
    private const long CacheMilliseconds = 5_000;

    public static (string? Commit, bool? Dirty) Detect(string directory, string gitExecutable = "git")
    {
        if (GitRepository.Find(directory) is not { } repository) return (null, null);
        var commit = repository.ReadHeadCommit();
        if (commit is null && Directory.Exists(Path.Combine(repository.CommonDirectory, "reftable")))
            commit = Git(gitExecutable, repository.WorkTree, "rev-parse --verify -q HEAD")?.Trim(); // the binary reftable format is left to git
        if (commit is null || !GitRepository.IsObjectId(commit)) return (null, null);
        var now = Environment.TickCount64;
        if (DirtyCache.TryGetValue(repository.WorkTree, out var cached) && cached.Commit == commit && now - cached.At < CacheMilliseconds)
            return (commit, cached.Dirty);
        var status = Git(gitExecutable, repository.WorkTree, "--no-optional-locks status --porcelain --untracked-files=no");
        bool? dirty = status is null ? null : status.Trim().Length > 0;
        DirtyCache[repository.WorkTree] = (now, commit, dirty);
        return (commit, dirty);
    }

    private static string? Git(string gitExecutable, string directory, string arguments)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(gitExecutable, arguments)
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                CreateNoWindow = true,
            });
            if (p is null) return null;
            var output = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(5_000))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                return null;
            }
            return p.ExitCode == 0 ? output.GetAwaiter().GetResult() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // git is not installed
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>A git repository found from a folder inside its work tree, read from its files.</summary>
/// <param name="WorkTree">The work tree's root folder.</param>
/// <param name="GitDirectory">The repository folder of this work tree (<c>.git</c>, or <c>.git/worktrees/&lt;name&gt;</c> for a linked worktree).</param>
/// <param name="CommonDirectory">The folder holding the shared refs and <c>packed-refs</c> (the main <c>.git</c>).</param>
internal sealed record GitRepository(string WorkTree, string GitDirectory, string CommonDirectory)
{
    private const int MaxSymbolicDepth = 8;

    /// <summary>Finds the repository of the work tree that contains <paramref name="directory"/>, or null.</summary>
    public static GitRepository? Find(string directory)
    {
        for (var d = new DirectoryInfo(Path.GetFullPath(directory)); d is not null; d = d.Parent)
        {
            var dotGit = Path.Combine(d.FullName, ".git");
            string? gitDirectory = null;
            if (Directory.Exists(dotGit)) gitDirectory = dotGit;
            else if (File.Exists(dotGit)) gitDirectory = ReadGitDirFile(dotGit);
            if (gitDirectory is null) continue;
            if (!File.Exists(Path.Combine(gitDirectory, "HEAD"))) return null;
            var common = gitDirectory;
            if (ReadFirstLine(Path.Combine(gitDirectory, "commondir")) is { Length: > 0 } commonDir)
                common = Path.GetFullPath(Path.Combine(gitDirectory, commonDir));
            return new GitRepository(d.FullName, gitDirectory, common);
        }
        return null;
    }

    /// <summary>The commit <c>HEAD</c> points to (40 or 64 hex digits), or null (an unborn branch, an unreadable ref store).</summary>
    public string? ReadHeadCommit()
    {
        var value = ReadFirstLine(Path.Combine(GitDirectory, "HEAD"));
        for (var depth = 0; value is not null && depth < MaxSymbolicDepth; depth++)
        {
            if (IsObjectId(value)) return value.ToLowerInvariant();
            if (!value.StartsWith("ref:", StringComparison.Ordinal)) return null;
            value = ReadRef(value[4..].Trim());
        }
        return null;
    }

    private string? ReadRef(string name)
    {
        if (name.Length == 0 || name.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(name)) return null;
        // Per-worktree refs (HEAD, refs/bisect, ...) live in the worktree's folder; shared refs in the common folder.
        foreach (var folder in GitDirectory == CommonDirectory ? [GitDirectory] : new[] { GitDirectory, CommonDirectory })
            if (ReadFirstLine(Path.Combine(folder, name)) is { Length: > 0 } loose)
                return loose;
        return ReadPackedRef(name);
    }

    private string? ReadPackedRef(string name)
    {
        var path = Path.Combine(CommonDirectory, "packed-refs");
        if (!File.Exists(path)) return null;
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.Length == 0 || line[0] is '#' or '^') continue;
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && line.AsSpan(space + 1).SequenceEqual(name)) return line[..space];
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    private static string? ReadGitDirFile(string path)
    {
        var line = ReadFirstLine(path);
        if (line is null || !line.StartsWith("gitdir:", StringComparison.Ordinal)) return null;
        var target = line["gitdir:".Length..].Trim();
        return target.Length == 0 ? null : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, target));
    }

    private static string? ReadFirstLine(string path)
    {
        try
        {
            if (!File.Exists(path)) return null;
            using var reader = new StreamReader(path);
            return reader.ReadLine()?.Trim();
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    public static bool IsObjectId(string value)
        => value.Length is 40 or 64 && value.All(char.IsAsciiHexDigit);
}
