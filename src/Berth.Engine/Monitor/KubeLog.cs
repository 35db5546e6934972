using System.Globalization;
using System.Text;
using Berth.Linux;

namespace Berth.Engine.Monitor;

/// <summary>One line of conmon's k8s-file log: "TIMESTAMP STREAM P|F TEXT" (P: a partial line, continued by the next).</summary>
public readonly record struct LogLine(DateTimeOffset Time, string Stream, bool Partial, string Text)
{
    public static LogLine? Parse(string line)
    {
        var parts = line.Split(' ', 4);
        if (parts.Length < 3) return null;
        if (!DateTimeOffset.TryParse(parts[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return null;
        return new LogLine(t, parts[1], parts[2] == "P", parts.Length == 4 ? parts[3] : "");
    }
}

/// <summary>Reads a k8s-file log from an offset on: what `logs` prints and `logs -f` follows.</summary>
public sealed class KubeLogReader
{
    readonly string _path;
    long _offset;
    readonly StringBuilder _pending = new();

    public KubeLogReader(string path) => _path = path;

    /// <summary>The complete lines written since the last call.</summary>
    public List<LogLine> ReadNew()
    {
        var lines = new List<LogLine>();
        SafeFd fd;
        try { fd = Files.Open(_path, O.RDONLY | O.CLOEXEC); }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT) { return lines; }
        using (fd)
        using (var s = new FdStream(fd, _path))
        {
            s.Position = _offset;
            var buf = new byte[65536];
            int n;
            var bytes = new List<byte>();
            while ((n = s.Read(buf)) > 0) bytes.AddRange(buf.AsSpan(0, n).ToArray());
            int lastNl = bytes.LastIndexOf((byte)'\n');
            if (lastNl < 0) return lines;
            _offset += lastNl + 1;
            foreach (var raw in Encoding.UTF8.GetString(bytes.GetRange(0, lastNl).ToArray()).Split('\n'))
                if (LogLine.Parse(raw) is { } l) lines.Add(l);
        }
        return lines;
    }
}
