using System.Diagnostics;
using MLOps.Runs.Internal;

namespace MLOps.Core.Tests.Runs;

/// <summary>The git commit read from the .git files, compared with what git itself says, in real temp repositories.</summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class GitInfoTests
{
    private readonly TempFolder _folder = new();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    private static string Git(string directory, string arguments)
    {
        using var p = Process.Start(new ProcessStartInfo("git", "-c user.email=a@b -c user.name=t -c init.defaultBranch=main " + arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) Assert.Fail($"git {arguments} failed: {error}");
        return output.Trim();
    }

    private string NewRepo(string name = "repo", int commits = 2)
    {
        var repo = _folder.File(name);
        Directory.CreateDirectory(repo);
        Git(repo, "init -q");
        for (var i = 0; i < commits; i++)
        {
            File.WriteAllText(Path.Combine(repo, "a.txt"), i.ToString());
            Git(repo, "add a.txt");
            Git(repo, $"commit -q -m c{i}");
        }
        return repo;
    }

    [Test]
    public void Detect_BranchWithLooseRef_ReadsHeadsCommitFromFiles()
    {
        var repo = NewRepo();
        var sub = Directory.CreateDirectory(Path.Combine(repo, "src", "deep")).FullName;
        Assert.That(GitInfo.Detect(sub).Commit, Is.EqualTo(Git(repo, "rev-parse HEAD")));
    }

    [Test]
    public void Detect_PackedRefs_ReadsCommitFromPackedRefs()
    {
        var repo = NewRepo();
        Git(repo, "pack-refs --all --prune");
        Assert.That(File.Exists(Path.Combine(repo, ".git", "refs", "heads", "main")), Is.False);
        Assert.That(GitInfo.Detect(repo).Commit, Is.EqualTo(Git(repo, "rev-parse HEAD")));
    }

    [Test]
    public void Detect_DetachedHead_ReadsTheCommitInHead()
    {
        var repo = NewRepo();
        var first = Git(repo, "rev-parse HEAD~1");
        Git(repo, $"checkout -q {first}");
        Assert.That(GitInfo.Detect(repo).Commit, Is.EqualTo(first));
    }

    [Test]
    public void Detect_LinkedWorktree_ReadsItsOwnHeadThroughGitdirAndCommondir()
    {
        var repo = NewRepo();
        var first = Git(repo, "rev-parse HEAD~1");
        var worktree = _folder.File("wt");
        Git(repo, $"worktree add -q -b other \"{worktree}\" {first}");
        Git(repo, "pack-refs --all --prune"); // the worktree's branch now lives in the main repository's packed-refs
        Assert.That(File.ReadAllText(Path.Combine(worktree, ".git")), Does.StartWith("gitdir:"));
        Assert.That(GitInfo.Detect(worktree).Commit, Is.EqualTo(first));
        Assert.That(GitInfo.Detect(repo).Commit, Is.EqualTo(Git(repo, "rev-parse HEAD")));
    }

    [Test]
    public void Detect_SeparateGitDirWithRelativeGitdirFile_ReadsCommit()
    {
        var repo = NewRepo();
        var commit = Git(repo, "rev-parse HEAD");
        Directory.Move(Path.Combine(repo, ".git"), _folder.File("store.git"));
        File.WriteAllText(Path.Combine(repo, ".git"), "gitdir: ../store.git\n");
        Assert.That(GitInfo.Detect(repo).Commit, Is.EqualTo(commit));
    }

    [Test]
    public void Detect_SymbolicRefChain_FollowsItToTheCommit()
    {
        var repo = NewRepo();
        Git(repo, "symbolic-ref refs/heads/alias refs/heads/main");
        Git(repo, "symbolic-ref HEAD refs/heads/alias");
        Assert.That(GitInfo.Detect(repo).Commit, Is.EqualTo(Git(repo, "rev-parse HEAD")));
    }

    [Test]
    public void Detect_UnbornBranchOrNoRepository_ReturnsNoCommit()
    {
        var repo = NewRepo(commits: 0);
        Assert.That(GitInfo.Detect(repo), Is.EqualTo(((string?)null, (bool?)null)));
        Assert.That(GitRepository.Find(Path.GetTempPath()) is null || GitInfo.Detect(_folder.Path).Commit is null, Is.True);
    }

    [Test]
    public void Detect_WithoutGitExecutable_StillReadsTheCommitAndLeavesDirtyUnknown()
    {
        var repo = NewRepo();
        var (commit, dirty) = GitInfo.Detect(repo, gitExecutable: Path.Combine(_folder.Path, "no-such-git"));
        Assert.That(commit, Is.EqualTo(Git(repo, "rev-parse HEAD")));
        Assert.That(dirty, Is.Null);
    }

    [Test]
    public void Detect_ModifiedTrackedFile_IsDirtyAndNewCommitIsSeenAtOnce()
    {
        var repo = NewRepo();
        Assert.That(GitInfo.Detect(repo).Dirty, Is.False);
        File.WriteAllText(Path.Combine(repo, "a.txt"), "changed");
        Git(repo, "commit -q -am c9"); // a new commit is read at once, not from the cache
        Assert.That(GitInfo.Detect(repo), Is.EqualTo((Git(repo, "rev-parse HEAD"), (bool?)false)));
        File.WriteAllText(Path.Combine(repo, "a.txt"), "changed again");
        Git(repo, "commit -q -am c10");
        File.WriteAllText(Path.Combine(repo, "a.txt"), "dirty");
        Assert.That(GitInfo.Detect(repo), Is.EqualTo((Git(repo, "rev-parse HEAD"), (bool?)true)));
    }
}
