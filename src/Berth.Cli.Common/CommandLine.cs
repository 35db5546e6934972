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

    public long? Long(string name) =>
        Value(name) is { } v ? (long.TryParse(v, out var n) ? n : throw new UsageException($"--{name}: \"{v}\" is not an integer")) : null;

    public ulong? ULong(string name) =>
        Value(name) is { } v ? (ulong.TryParse(v, out var n) ? n : throw new UsageException($"--{name}: \"{v}\" is not a non-negative integer")) : null;

    /// <summary>"64m", "1g", "512k", "1048576"; -1 for unlimited.</summary>
    public long? Bytes(string name)
    {
        if (Value(name) is not { } text) return null;
        var t = text.Trim().ToLowerInvariant();
        if (t == "-1") return -1;
        long unit = 1;
        if (t.EndsWith("b")) t = t[..^1];
        if (t.Length > 0 && "kmgt".Contains(t[^1]))
        {
            unit = t[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1L << 40 };
            t = t[..^1];
        }
        if (!long.TryParse(t, out var n) || n < 0) throw new UsageException($"--{name}: \"{text}\" is not a size (bytes, or with k, m, g)");
        return n <= long.MaxValue / unit ? n * unit : throw new UsageException($"--{name}: \"{text}\" is too large");
    }

    /// <summary>Go's duration syntax, as runc takes it: "5s", "100ms", "1m30s".</summary>
    public TimeSpan? Duration(string name)
    {
        if (Value(name) is not { } text) return null;
        var bad = new UsageException($"--{name}: \"{text}\" is not a duration (5s, 100ms, 1m)");
        double seconds = 0;
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (start == i || !double.TryParse(text[start..i], System.Globalization.CultureInfo.InvariantCulture, out var n)) throw bad;
            int u = i;
            while (i < text.Length && char.IsAsciiLetter(text[i])) i++;
            seconds += n * text[u..i] switch
            {
                "ns" => 1e-9, "us" or "µs" => 1e-6, "ms" => 1e-3, "s" => 1, "m" => 60, "h" => 3600,
                _ => throw bad,
            };
        }
        if (seconds <= 0) throw new UsageException($"--{name}: \"{text}\" must be positive");
        // TimeSpan holds about 29,000 years: a larger duration is a typo, not a wish.
        if (seconds > TimeSpan.MaxValue.TotalSeconds / 2) throw new UsageException($"--{name}: \"{text}\" is too long");
        return TimeSpan.FromSeconds(seconds);
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
