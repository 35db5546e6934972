using System.Diagnostics;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// A caller's signal state is not Berth's: conmon runs its exit command with SIGCHLD blocked, and
/// a .NET process that inherits that never reaps a child (every Process.WaitForExit hangs). Every
/// Berth process starts with nothing blocked and SIGCHLD at its default, whatever its parent left.
/// </summary>
public class InheritedSignalTests
{
    const int SIGCHLD = 17, SIGUSR1 = 10;

    static ulong Mask(string status, string field) =>
        Convert.ToUInt64(status.Split('\n').First(l => l.StartsWith(field + ":")).Split(':')[1].Trim(), 16);

    [Fact]
    public void A_launcher_started_with_sigchld_blocked_and_ignored_unblocks_it()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sleep", "30" });
        var id = Sandbox.NewId();
        // perl (Debian's essential perl-base): block SIGCHLD and SIGUSR1, ignore SIGCHLD, then exec.
        var psi = new ProcessStartInfo("perl") { WorkingDirectory = bundle, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-MPOSIX", "-e", "sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGCHLD, SIGUSR1)); $SIG{CHLD} = 'IGNORE'; exec @ARGV or die",
                     Sandbox.Binary, "--root", s.Root, "run", id })
            psi.ArgumentList.Add(a);
        using var launcher = Process.Start(psi)!;
        try
        {
            s.WaitForStatus(id, "running");
            var status = File.ReadAllText($"/proc/{launcher.Id}/status");
            Assert.Contains("berth-runtime", File.ReadAllText($"/proc/{launcher.Id}/cmdline"));
            Assert.Equal(0UL, Mask(status, "SigBlk") & (1UL << (SIGCHLD - 1) | 1UL << (SIGUSR1 - 1)));
            Assert.Equal(0UL, Mask(status, "SigIgn") & 1UL << (SIGCHLD - 1));
        }
        finally
        {
            s.Berth("kill", id, "KILL");
            launcher.WaitForExit(10_000);
            s.Berth("delete", "--force", id);
        }
    }
}
