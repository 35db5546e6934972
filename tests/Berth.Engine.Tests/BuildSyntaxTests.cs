using Berth.Engine.Build.Executor;
using Berth.Engine.Build.Stages;
using Berth.Engine.Build.Syntax;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>The Containerfile parser and docker's word expansion, against the examples of the Dockerfile reference.</summary>
public sealed class BuildSyntaxTests
{
    static Containerfile Parse(string text) => Parser.Parse(text, "Containerfile");

    static string? Env(string name) => name switch
    {
        "FOO" => "/bar",
        "EMPTY" => "",
        "PORTS" => "80/tcp 443",
        _ => null,
    };

    [Theory]
    // The reference's "Environment replacement" section.
    [InlineData("${FOO}", "/bar")]
    [InlineData("$FOO", "/bar")]
    [InlineData("\\$FOO", "$FOO")]
    [InlineData("${UNSET:-word}", "word")]
    [InlineData("${FOO:-word}", "/bar")]
    [InlineData("${FOO:+word}", "word")]
    [InlineData("${UNSET:+word}", "")]
    [InlineData("${EMPTY:-default}", "default")]
    [InlineData("${EMPTY-default}", "")]
    [InlineData("${EMPTY+set}", "set")]
    [InlineData("${UNSET+set}", "")]
    [InlineData("'$FOO'", "$FOO")]
    [InlineData("\"$FOO x\"", "/bar x")]
    [InlineData("\"a\\\"b\"", "a\"b")]
    [InlineData("${UNSET:-${FOO}/x}", "/bar/x")]
    [InlineData("a$", "a$")]
    [InlineData("$1x", "$1x")]
    public void Words_expand_as_dockers_shell_lexer_does(string word, string expected) =>
        Assert.Equal(expected, new ShellLex().ProcessWord(word, Env));

    [Fact]
    public void An_unquoted_expansion_splits_into_words_and_a_quoted_one_does_not() =>
        Assert.Equal(new[] { "80/tcp", "443", "8080", "a b" }, new ShellLex().ProcessWords("$PORTS 8080 \"a b\"", Env));

    [Fact]
    public void A_required_variable_that_is_unset_is_an_error_with_its_message()
    {
        var e = Assert.Throws<FormatException>(() => new ShellLex().ProcessWord("${UNSET:?must be set}", Env));
        Assert.Contains("must be set", e.Message);
    }

    [Fact]
    public void The_backtick_escape_directive_makes_backslashes_plain_as_in_the_reference_windows_example()
    {
        var f = Parse("# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n");
        Assert.Equal('`', f.Escape);
        var copy = Assert.IsType<CopyInstruction>(f.Instructions[1]);
        Assert.Equal(new[] { "testfile.txt" }, copy.Sources);
        Assert.Equal("c:\\", copy.Destination);
        Assert.Equal("dir c:\\", Assert.IsType<RunInstruction>(f.Instructions[2]).Command.Shell);
        Assert.Equal("c:\\", new ShellLex('`').ProcessWord("c:\\", Env));
    }

    [Fact]
    public void Directives_stop_at_the_first_line_that_is_not_one()
    {
        var f = Parse("# syntax=docker/dockerfile:1\n# a comment\n# escape=`\nFROM x\n");
        Assert.Equal("docker/dockerfile:1", f.Directives["syntax"]);
        Assert.False(f.Directives.ContainsKey("escape"));
        Assert.Equal('\\', f.Escape);
    }

    [Fact]
    public void Continuations_join_lines_and_drop_comment_and_blank_lines_inside()
    {
        var f = Parse("FROM x\nRUN echo hello \\\n# comment\n\n  world \\  \n  again\nCMD [\"a\"]\n");
        var run = Assert.IsType<RunInstruction>(f.Instructions[1]);
        Assert.Equal("echo hello   world   again", run.Command.Shell);
        Assert.Equal(2, run.At.Line);
        Assert.Equal(7, f.Instructions[2].At.Line);
    }

    [Fact]
    public void Heredocs_of_RUN_and_COPY_are_read_with_their_quoting_and_tab_stripping()
    {
        var f = Parse("FROM x\nRUN <<EOT bash\n  set -ex\n  echo hi\nEOT\nCOPY <<-\"EOF\" /app/script.sh\n\techo hello ${FOO}\nEOF\nUSER app\n");
        var run = Assert.IsType<RunInstruction>(f.Instructions[1]);
        var doc = Assert.Single(run.Heredocs);
        Assert.Equal(("EOT", "  set -ex\n  echo hi\n", true), (doc.Name, doc.Content, doc.Expand));
        var copy = Assert.IsType<CopyInstruction>(f.Instructions[2]);
        var d = Assert.Single(copy.Heredocs);
        Assert.Equal(("EOF", "echo hello ${FOO}\n", false, true), (d.Name, d.Content, d.Expand, d.StripTabs));
        Assert.Equal(new[] { "<<-\"EOF\"" }, copy.Sources);
        Assert.Equal("/app/script.sh", copy.Destination);
        Assert.Equal("USER", f.Instructions[3].Keyword);
        Assert.Equal(9, f.Instructions[3].At.Line);
    }

    [Fact]
    public void An_unclosed_heredoc_names_its_instruction()
    {
        var e = Assert.Throws<EngineException>(() => Parse("FROM x\nRUN <<EOF\necho\n"));
        Assert.StartsWith("Containerfile:2:1: ", e.Message);
        Assert.Contains("<<EOF", e.Message);
    }

    [Fact]
    public void Exec_form_is_a_JSON_array_and_anything_else_the_shell_form()
    {
        var f = Parse("FROM x\nCMD [\"echo\", \"hi\"]\nENTRYPOINT [echo]\nSHELL [\"/bin/bash\", \"-c\"]\n");
        var cmd = Assert.IsType<CommandInstruction>(f.Instructions[1]).Command;
        Assert.True(cmd.IsExec);
        Assert.Equal(new[] { "echo", "hi" }, cmd.Exec);
        var ep = Assert.IsType<CommandInstruction>(f.Instructions[2]).Command;
        Assert.False(ep.IsExec);
        Assert.Equal(new[] { "/bin/sh", "-c", "[echo]" }, ep.Args(new[] { "/bin/sh", "-c" }));
        Assert.Equal(new[] { "/bin/bash", "-c" }, Assert.IsType<ShellInstruction>(f.Instructions[3]).Shell);
    }

    [Fact]
    public void Flags_are_typed_and_keywords_case_insensitive()
    {
        var f = Parse("from --platform=linux/amd64 busybox AS Build\ncopy --from=build --chown=1:2 --chmod=640 a b /dst/\nRUN --mount=type=cache,target=/c --network=none make\n");
        var from = Assert.IsType<FromInstruction>(f.Instructions[0]);
        Assert.Equal(("busybox", "build", "linux/amd64"), (from.Image, from.StageName, from.Platform));
        var copy = Assert.IsType<CopyInstruction>(f.Instructions[1]);
        Assert.Equal(("build", "1:2", "640"), (copy.From, copy.Chown, copy.Chmod));
        Assert.Equal(new[] { "a", "b" }, copy.Sources);
        var run = Assert.IsType<RunInstruction>(f.Instructions[2]);
        Assert.Equal(new[] { "type=cache,target=/c" }, run.Mounts);
        Assert.Equal("none", run.Network);
    }

    [Theory]
    [InlineData("FROM x\n  FROBNICATE y\n", "Containerfile:2:3: unknown instruction: FROBNICATE")]
    [InlineData("FROM x\nCOPY --chown=1 --frm=y a b\n", "Containerfile:2:16: unknown flag: --frm")]
    [InlineData("FROM x\nRUN echo \\\n  --x\nFROM\n", "Containerfile:4:1: FROM requires at least one argument")]
    [InlineData("FROM x\nSHELL /bin/sh\n", "Containerfile:2:1: SHELL requires the arguments to be in JSON form")]
    [InlineData("FROM x\nCOPY onlyone\n", "Containerfile:2:1: COPY requires at least two arguments")]
    [InlineData("FROM x\nONBUILD ONBUILD RUN x\n", "Containerfile:2:1: chaining ONBUILD")]
    [InlineData("# escape=x\nFROM x\n", "Containerfile:1:1: invalid escape token")]
    public void Syntax_errors_name_the_file_line_and_column(string text, string expected)
    {
        var e = Assert.Throws<EngineException>(() => Parse(text));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void ENV_and_LABEL_take_key_value_words_with_quotes_and_the_legacy_form()
    {
        var f = Parse("FROM x\nENV MY_NAME=\"John Doe\" MY_DOG=Rex\\ The\\ Dog MY_CAT=fluffy\nENV ONE two three\nLABEL \"com.example.vendor\"=\"ACME Incorporated\" version=1.0\n");
        var env = Assert.IsType<KeyValueInstruction>(f.Instructions[1]);
        var lex = new ShellLex();
        Assert.Equal(new[] { ("MY_NAME", "John Doe"), ("MY_DOG", "Rex The Dog"), ("MY_CAT", "fluffy") },
            env.Pairs.Select(p => (p.Key, lex.ProcessWord(p.Value, Env))));
        Assert.Equal(("ONE", "two three"), (Assert.IsType<KeyValueInstruction>(f.Instructions[2]).Pairs[0].Key, Assert.IsType<KeyValueInstruction>(f.Instructions[2]).Pairs[0].Value));
        var label = Assert.IsType<KeyValueInstruction>(f.Instructions[3]);
        Assert.Equal("com.example.vendor", lex.ProcessWord(label.Pairs[0].Key, Env));
        Assert.Equal("ACME Incorporated", lex.ProcessWord(label.Pairs[0].Value, Env));
    }

    [Fact]
    public void HEALTHCHECK_and_ONBUILD_keep_their_parts()
    {
        var f = Parse("FROM x\nHEALTHCHECK --interval=5m --timeout=3s CMD curl -f http://localhost/ || exit 1\nHEALTHCHECK NONE\nONBUILD ADD . /app/src\n");
        var hc = Assert.IsType<HealthcheckInstruction>(f.Instructions[1]);
        Assert.Equal(("5m", "3s", "curl -f http://localhost/ || exit 1"), (hc.Interval, hc.Timeout, hc.Command!.Shell));
        Assert.Null(Assert.IsType<HealthcheckInstruction>(f.Instructions[2]).Command);
        var ob = Assert.IsType<OnbuildInstruction>(f.Instructions[3]);
        Assert.Equal("ADD . /app/src", ob.Trigger);
        Assert.IsType<CopyInstruction>(ob.Parsed);
        Assert.Equal(300_000_000_000L, Builder.GoDuration("5m"));
        Assert.Equal(1_500_000_000L, Builder.GoDuration("1.5s"));
        Assert.Equal(90_000_000_000L, Builder.GoDuration("1m30s"));
        Assert.Null(Builder.GoDuration("5 minutes"));
    }

    [Fact]
    public void Stages_not_feeding_the_target_are_skipped_and_dependencies_come_first()
    {
        var f = Parse("ARG BASE=busybox\nFROM $BASE AS a\nFROM busybox AS unused\nFROM a AS b\nCOPY --from=0 /x /x\nFROM scratch AS final\nCOPY --from=b /x /x\nRUN --mount=type=bind,from=unused,target=/u true\n");
        var g = StageGraph.Of(f, "b", s => s.Replace("$BASE", "busybox"));
        Assert.Equal(new[] { "a", "b" }, g.Needed.Select(s => s.Label));
        Assert.Single(g.GlobalArgs);
        var all = StageGraph.Of(f, null, s => s);
        Assert.Equal(new[] { "a", "unused", "b", "final" }, all.Needed.Select(s => s.Label));
    }

    [Theory]
    [InlineData("FROM busybox AS a\nCOPY --from=a /x /x\n", "Containerfile:2:6: COPY --from=a: stage \"a\" is this stage itself")]
    [InlineData("FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nCOPY --from=a /y /y\n", "Containerfile:2:6: COPY --from=b: stage \"b\" is a later stage")]
    [InlineData("FROM busybox AS a\nFROM busybox AS A\n", "Containerfile:2:1: the stage name \"a\" is already used")]
    [InlineData("RUN x\nFROM busybox\n", "Containerfile:1:1: RUN before the first FROM")]
    public void A_stage_cycle_and_other_stage_errors_are_named(string text, string expected)
    {
        var e = Assert.Throws<EngineException>(() => StageGraph.Of(Parse(text), null, s => s));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void An_unknown_target_lists_the_stages()
    {
        var e = Assert.Throws<EngineException>(() => StageGraph.Of(Parse("FROM busybox AS a\nFROM busybox AS b\n"), "c", s => s));
        Assert.Contains("stages: a, b", e.Message);
    }

    [Theory]
    [InlineData("*.txt", "a.txt", true)]
    [InlineData("*.txt", "a.tx", false)]
    [InlineData("a?c", "abc", true)]
    [InlineData("[a-c]x", "bx", true)]
    [InlineData("[^a-c]x", "bx", false)]
    [InlineData("\\*", "*", true)]
    public void Globs_match_as_Gos_filepath_Match(string pattern, string name, bool matches) =>
        Assert.Equal(matches, TreeCopy.GlobMatch(pattern, name));
}
