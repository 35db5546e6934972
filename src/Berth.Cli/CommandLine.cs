namespace Berth.Cli;

/// <summary>A flag a command accepts: its long name, an optional one-letter alias, and whether it takes a value.</summary>
public sealed record Flag(string Name, char? Short = null, bool TakesValue = false, bool Repeated = false);

/// <summary>
/// runc's (urfave/cli) conventions: "--flag", "-flag", "-f", "--flag=value" or "--flag value";
/// flags come before positional arguments, and "--" ends them.
/// </summary>
public sealed class CommandLine
{
    readonly Dictionary<string, string?> _values = new();
    readonly Dictionary<string, List<string>> _lists = new();
    public List<string> Positional { get; } = new();

    public static CommandLine Parse(IReadOnlyList<string> args, IReadOnlyList<Flag> flags, bool stopAtPositional = true)
    {
        var cl = new CommandLine();
        int i = 0;
        for (; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--") { i++; break; }
            if (a.Length < 2 || a[0] != '-')
            {
                if (stopAtPositional) break;
                cl.Positional.Add(a);
                continue;
            }
            var body = a.TrimStart('-');
            string? inline = null;
            int eq = body.IndexOf('=');
            if (eq >= 0) { inline = body[(eq + 1)..]; body = body[..eq]; }
            var flag = flags.FirstOrDefault(f => f.Name == body || (body.Length == 1 && f.Short == body[0]))
                ?? throw new UsageException($"unknown flag: {a}");
            if (flag.TakesValue)
            {
                if (inline is null)
                {
                    if (++i >= args.Count) throw new UsageException($"flag needs a value: --{flag.Name}");
                    inline = args[i];
                }
                cl._values[flag.Name] = inline;
                if (flag.Repeated)
                {
                    if (!cl._lists.TryGetValue(flag.Name, out var list)) cl._lists[flag.Name] = list = new();
                    list.Add(inline);
                }
            }
            else
            {
                if (inline is not null && inline is not ("true" or "false")) throw new UsageException($"flag takes no value: --{flag.Name}");
                cl._values[flag.Name] = inline ?? "true";
            }
        }
        for (; i < args.Count; i++) cl.Positional.Add(args[i]);
        return cl;
    }

    public bool Has(string name) => _values.TryGetValue(name, out var v) && v != "false";
    public string? Value(string name) => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>Every value of a repeatable flag, in order.</summary>
    public IReadOnlyList<string> Values(string name) => _lists.TryGetValue(name, out var l) ? l : Array.Empty<string>();

    public int Int(string name, int fallback)
    {
        var v = Value(name);
        if (v is null) return fallback;
        return int.TryParse(v, out var n) && n >= 0 ? n : throw new UsageException($"--{name}: \"{v}\" is not a non-negative integer");
    }

    /// <summary>The one container id a command takes.</summary>
    public string Id(string command)
    {
        if (Positional.Count == 0) throw new UsageException($"{command}: a container id is required");
        if (Positional.Count > 1) throw new UsageException($"{command}: unexpected arguments after the id: {string.Join(' ', Positional.Skip(1))}");
        return Positional[0];
    }
}

public sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
