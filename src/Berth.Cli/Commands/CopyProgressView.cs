using System.Diagnostics;
using System.Text;
using Berth.Images.Copy;
using Berth.Images.Store;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Cli.Commands;

/// <summary>How a copy's progress is shown on stderr.</summary>
public enum ProgressMode
{
    /// <summary>Nothing (--quiet, or --format json).</summary>
    Quiet,
    /// <summary>One line per blob when it is done ("Copying blob sha256:… done 12.3MB"): stderr is not a terminal.</summary>
    Lines,
    /// <summary>A live line per blob (bytes, rate, ETA) and a total, redrawn in place, as podman and docker draw them.</summary>
    Bars,
}

/// <summary>
/// A copy's progress on stderr, and what the machine-readable result (--format json) says: the
/// blobs with their outcome, the manifests and their platforms. Called from the copy's threads.
/// </summary>
public sealed class CopyProgressView : ICopyProgress, IDisposable
{
    static readonly SafeFd StderrFd = new(2, ownsHandle: false);

    sealed class Blob(Descriptor source, bool isConfig)
    {
        public Descriptor Source { get; } = source;
        public bool IsConfig { get; } = isConfig;
        public long Read;
        public Descriptor? Stored;
        public BlobOutcome? Outcome;
        public long StartedAt = Stopwatch.GetTimestamp();
        public long DoneAt;
    }

    readonly ProgressMode _mode;
    readonly object _gate = new();
    readonly List<Blob> _blobs = new();
    readonly Dictionary<string, Blob> _byDigest = new(StringComparer.Ordinal);
    readonly List<(Descriptor Manifest, Platform? Platform, bool Top)> _manifests = new();
    readonly long _started = Stopwatch.GetTimestamp();
    readonly Thread? _drawer;
    readonly ManualResetEventSlim _stop = new();
    int _drawnLines;

    public CopyProgressView(ProgressMode mode)
    {
        _mode = mode;
        if (mode == ProgressMode.Bars)
        {
            _drawer = new Thread(DrawLoop) { IsBackground = true, Name = "progress" };
            _drawer.Start();
        }
    }

    /// <summary>Bars when stderr is a terminal, else lines; nothing when quiet.</summary>
    public static ProgressMode ModeFor(bool quiet) => quiet ? ProgressMode.Quiet : Terminal.IsTerminal(2) ? ProgressMode.Bars : ProgressMode.Lines;

    /// <summary>A line of its own on stderr ("Copying image …"), kept above the bars.</summary>
    public void Note(string line)
    {
        if (_mode == ProgressMode.Quiet) return;
        lock (_gate)
        {
            var sb = new StringBuilder();
            if (_mode == ProgressMode.Bars) Erase(sb);
            sb.Append(line).Append('\n');
            Write(sb.ToString());
        }
    }

    public void BlobStarted(Descriptor blob, bool isConfig)
    {
        lock (_gate)
        {
            var key = blob.Digest ?? "";
            if (_byDigest.ContainsKey(key)) return;
            var b = new Blob(blob, isConfig);
            _byDigest[key] = b;
            _blobs.Add(b);
        }
    }

    public void BlobProgress(Descriptor blob, long bytesRead)
    {
        if (_byDigest.TryGetValue(blob.Digest ?? "", out var b)) Volatile.Write(ref b.Read, bytesRead);
    }

    public void BlobDone(Descriptor blob, Descriptor stored, BlobOutcome outcome, bool isConfig)
    {
        lock (_gate)
        {
            if (!_byDigest.TryGetValue(blob.Digest ?? "", out var b))
            {
                b = new Blob(blob, isConfig);
                _byDigest[blob.Digest ?? ""] = b;
                _blobs.Add(b);
            }
            b.Stored = stored;
            b.Outcome = outcome;
            b.DoneAt = Stopwatch.GetTimestamp();
            if (outcome == BlobOutcome.Copied) b.Read = blob.Size ?? stored.Size ?? b.Read;
            if (_mode == ProgressMode.Lines) Write(DoneLine(b, full: true) + "\n");
        }
    }

    public void ManifestWritten(Descriptor manifest, Platform? platform, bool top)
    {
        lock (_gate)
        {
            _manifests.Add((manifest, platform, top));
            if (top && _mode == ProgressMode.Lines) Write("Writing manifest to image destination\n");
        }
    }

    /// <summary>The last frame (bars), then the closing line.</summary>
    public void Finish()
    {
        if (_drawer is not null)
        {
            _stop.Set();
            _drawer.Join();
        }
        if (_mode == ProgressMode.Bars)
            lock (_gate)
            {
                Draw(final: true);
                Write("Writing manifest to image destination\n");
            }
    }

    public void Dispose()
    {
        if (_drawer is not null && !_stop.IsSet)
        {
            _stop.Set();
            _drawer.Join();
        }
        _stop.Dispose();
    }

    void DrawLoop()
    {
        while (!_stop.Wait(100))
            lock (_gate) Draw(final: false);
    }

    /// <summary>Moves up over the last frame and clears it (ANSI: CSI n A, CSI J).</summary>
    void Erase(StringBuilder sb)
    {
        if (_drawnLines > 0) sb.Append("\x1b[").Append(_drawnLines).Append('A');
        sb.Append("\r\x1b[J");
        _drawnLines = 0;
    }

    void Draw(bool final)
    {
        var sb = new StringBuilder();
        Erase(sb);
        long total = 0, done = 0;
        foreach (var b in _blobs)
        {
            var line = b.Outcome is null ? LiveLine(b) : DoneLine(b, full: false);
            sb.Append(line).Append('\n');
            _drawnLines++;
            if (b.Outcome != BlobOutcome.Skipped)
            {
                total += b.Source.Size ?? 0;
                done += Volatile.Read(ref b.Read);
            }
        }
        if (_blobs.Count > 1 || final)
        {
            var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            sb.Append($"Total        {Bar(done, total)} {Size(done),8} / {Size(total),-8} {Rate(done, seconds),10}  {Eta(done, total, seconds)}").Append('\n');
            _drawnLines++;
        }
        Write(sb.ToString());
    }

    static string Short(Descriptor d) => (d.Digest ?? "").Split(':', 2) is [_, var hex] && hex.Length >= 12 ? hex[..12] : d.Digest ?? "?";

    string LiveLine(Blob b)
    {
        long read = Volatile.Read(ref b.Read);
        long size = b.Source.Size ?? 0;
        var seconds = Stopwatch.GetElapsedTime(b.StartedAt).TotalSeconds;
        return $"Copying {(b.IsConfig ? "config" : "blob  ")} {Short(b.Source)} {Bar(read, size)} {Size(read),8} / {Size(size),-8} {Rate(read, seconds),10}  {Eta(read, size, seconds)}";
    }

    static string DoneLine(Blob b, bool full)
    {
        var name = full ? b.Source.Digest : Short(b.Source);
        var kind = b.IsConfig ? "config" : "blob";
        return b.Outcome == BlobOutcome.Skipped
            ? $"Copying {kind} {name} skipped: already exists"
            : $"Copying {kind} {name} done {Size(b.Source.Size ?? b.Stored?.Size ?? b.Read)}";
    }

    static string Bar(long done, long total, int width = 24)
    {
        int filled = total > 0 ? (int)Math.Min(width, done * width / total) : 0;
        return "[" + new string('=', filled) + (filled < width ? ">" + new string(' ', width - filled - 1) : "") + "]";
    }

    /// <summary>Decimal units, as podman prints them: 512B, 1.2kB, 12.3MB, 1.5GB.</summary>
    public static string Size(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB"];
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < units.Length - 1)
        {
            v /= 1000;
            u++;
        }
        return u == 0 ? $"{bytes}B" : $"{v.ToString(v >= 100 ? "0" : "0.0", System.Globalization.CultureInfo.InvariantCulture)}{units[u]}";
    }

    static string Rate(long bytes, double seconds) => seconds > 0.05 ? Size((long)(bytes / seconds)) + "/s" : "";

    static string Eta(long done, long total, double seconds)
    {
        if (done >= total || done == 0 || seconds < 0.05) return done >= total && total > 0 ? "done" : "";
        var left = (total - done) / (done / seconds);
        return left < 60 ? $"ETA {left:0}s" : $"ETA {left / 60:0}m{left % 60:00}s";
    }

    static void Write(string text)
    {
        try { Files.WriteAll(StderrFd, Encoding.UTF8.GetBytes(text), "stderr"); }
        catch (LinuxException) { }
    }

    /// <summary>The machine-readable result of a copy: what was written, for which platforms, and every blob with its outcome.</summary>
    public byte[] Json(Descriptor written, string? destination, string? name = null)
    {
        lock (_gate)
        {
            return JsonOut.Write(w =>
            {
                w.WriteStartObject();
                if (destination is not null) w.WriteString("destination", destination);
                if (name is not null) w.WriteString("name", name);
                w.WriteString("digest", written.Digest);
                w.WriteString("mediaType", written.MediaType);
                w.WriteNumber("size", written.Size ?? 0);
                w.WriteStartArray("platforms");
                var platforms = _manifests.Where(m => m.Platform is not null).Select(m => PlatformSpec.Describe(m.Platform)).Distinct().ToList();
                if (platforms.Count == 0 && written.Platform is not null) platforms.Add(PlatformSpec.Describe(written.Platform));
                foreach (var p in platforms) w.WriteStringValue(p);
                w.WriteEndArray();
                w.WriteStartArray("manifests");
                foreach (var (m, p, top) in _manifests)
                {
                    w.WriteStartObject();
                    w.WriteString("digest", m.Digest);
                    w.WriteString("mediaType", m.MediaType);
                    w.WriteNumber("size", m.Size ?? 0);
                    if (p is not null) w.WriteString("platform", PlatformSpec.Describe(p));
                    w.WriteBoolean("top", top);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("blobs");
                long copied = 0;
                foreach (var b in _blobs.Where(b => b.Outcome is not null))
                {
                    w.WriteStartObject();
                    w.WriteString("digest", b.Source.Digest);
                    if (b.Stored?.Digest is { } s && s != b.Source.Digest) w.WriteString("storedDigest", s);
                    w.WriteString("mediaType", b.Stored?.MediaType ?? b.Source.MediaType);
                    w.WriteNumber("size", b.Stored?.Size ?? b.Source.Size ?? 0);
                    w.WriteBoolean("config", b.IsConfig);
                    w.WriteString("outcome", b.Outcome == BlobOutcome.Copied ? "copied" : "skipped");
                    w.WriteEndObject();
                    if (b.Outcome == BlobOutcome.Copied) copied += b.Source.Size ?? 0;
                }
                w.WriteEndArray();
                w.WriteNumber("bytesCopied", copied);
                w.WriteNumber("seconds", Math.Round(Stopwatch.GetElapsedTime(_started).TotalSeconds, 3));
                w.WriteEndObject();
            }, indent: "  ");
        }
    }
}
