using Berth.Linux;
using Xunit;

namespace Berth.Linux.Tests;

public class SignalsTests
{
    [Theory]
    [InlineData("TERM", 15)]
    [InlineData("SIGTERM", 15)]
    [InlineData("sigkill", 9)]
    [InlineData("9", 9)]
    [InlineData("HUP", 1)]
    [InlineData("SIGUSR2", 12)]
    [InlineData("RTMIN", 34)]
    [InlineData("RTMIN+3", 37)]
    [InlineData("RTMAX-1", 63)]
    [InlineData("WINCH", 28)]
    public void Signal_names_with_or_without_SIG_and_numbers_parse(string text, int expected) =>
        Assert.Equal(expected, Signals.Parse(text));

    [Theory]
    [InlineData("NOPE")]
    [InlineData("0")]
    [InlineData("65")]
    [InlineData("-1")]
    [InlineData("SIG")]
    [InlineData("RTMIN+40")]
    public void Unknown_signals_are_rejected(string text) => Assert.Null(Signals.Parse(text));

    [Fact]
    public void Names_round_trip() => Assert.Equal("SIGKILL", Signals.Name(9));
}

public class ExitStatusTests
{
    [Fact]
    public void Normal_exit_reports_its_code() =>
        Assert.Equal(42, ExitStatus.FromWaitStatus(42 << 8).ShellCode);

    [Fact]
    public void Death_by_signal_is_128_plus_the_signal() =>
        Assert.Equal(137, ExitStatus.FromWaitStatus(9).ShellCode);
}

public class ProcStatTests
{
    [Fact]
    public void Parses_state_and_start_time_after_a_command_name_with_spaces_and_parens()
    {
        var line = "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615";
        var st = ProcStat.Parse(line);
        Assert.NotNull(st);
        Assert.Equal('S', st!.Value.State);
        Assert.Equal(987654UL, st.Value.StartTime);
    }

    [Fact]
    public void Zombies_and_dead_processes_count_as_gone()
    {
        Assert.True(new ProcStat('Z', 1).IsGone);
        Assert.True(new ProcStat('X', 1).IsGone);
        Assert.False(new ProcStat('S', 1).IsGone);
    }

    [Fact]
    public void This_process_is_alive_with_its_own_start_time_and_not_with_another()
    {
        var me = Environment.ProcessId;
        var st = ProcStat.Read(me)!.Value;
        Assert.True(ProcStat.IsAlive(me, st.StartTime));
        Assert.False(ProcStat.IsAlive(me, st.StartTime + 1));
    }
}
