using System.Globalization;
using System.Text;

namespace Berth.Serve.Metrics;

/// <summary>
/// The service's metrics in the Prometheus text exposition format (version 0.0.4): counters with one
/// label, gauges read when scraped, histograms with fixed buckets. Lock-free increments on hot paths.
/// </summary>
public sealed class ServeMetrics
{
    readonly List<IFamily> _families = new();
    readonly object _lock = new();

    public CounterFamily Scans { get; }
    public CounterFamily Decisions { get; }
    public CounterFamily Requests { get; }
    public Histogram ScanDuration { get; }

    public ServeMetrics()
    {
        Scans = Counter("berth_serve_scans_total", "Scan jobs finished, by status (done, failed, cached).", "status");
        Decisions = Counter("berth_serve_decisions_total", "Policy decisions, by outcome.", "outcome");
        Requests = Counter("berth_serve_http_requests_total", "HTTP requests, by status code.", "code");
        ScanDuration = NewHistogram("berth_serve_scan_duration_seconds", "Time from a scan job's start to its end.",
            new[] { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120 });
    }

    /// <summary>servep's hook: one decision of the promotion policy or the admission webhook.</summary>
    public void Decision(string outcome) => Decisions.Inc(outcome);

    public CounterFamily Counter(string name, string help, string label)
    {
        var c = new CounterFamily(name, help, label);
        lock (_lock) _families.Add(c);
        return c;
    }

    public Histogram NewHistogram(string name, string help, double[] buckets)
    {
        var h = new Histogram(name, help, buckets);
        lock (_lock) _families.Add(h);
        return h;
    }

    public void Gauge(string name, string help, Func<double> read)
    {
        lock (_lock) _families.Add(new GaugeFamily(name, help, read));
    }

    public string Render()
    {
        var sb = new StringBuilder();
        lock (_lock)
            foreach (var f in _families) f.Render(sb);
        return sb.ToString();
    }

    internal static string Number(double v) => double.IsPositiveInfinity(v) ? "+Inf" : v.ToString("R", CultureInfo.InvariantCulture);

    internal static string Escape(string label) => label.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    interface IFamily { void Render(StringBuilder sb); }

    public sealed class CounterFamily(string name, string help, string label) : IFamily
    {
        readonly System.Collections.Concurrent.ConcurrentDictionary<string, StrongBox> _values = new(StringComparer.Ordinal);

        sealed class StrongBox { public long Value; }

        public void Inc(string labelValue, long by = 1) => Interlocked.Add(ref _values.GetOrAdd(labelValue, _ => new StrongBox()).Value, by);

        public long Get(string labelValue) => _values.TryGetValue(labelValue, out var b) ? Interlocked.Read(ref b.Value) : 0;

        void IFamily.Render(StringBuilder sb)
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(" counter\n");
            foreach (var (k, v) in _values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                sb.Append(name).Append('{').Append(label).Append("=\"").Append(Escape(k)).Append("\"} ").Append(Interlocked.Read(ref v.Value)).Append('\n');
        }
    }

    sealed class GaugeFamily(string name, string help, Func<double> read) : IFamily
    {
        void IFamily.Render(StringBuilder sb)
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(" gauge\n");
            sb.Append(name).Append(' ').Append(Number(read())).Append('\n');
        }
    }

    public sealed class Histogram(string name, string help, double[] buckets) : IFamily
    {
        readonly long[] _counts = new long[buckets.Length + 1];
        long _count;
        double _sum;
        readonly object _lock = new();

        public void Observe(double seconds)
        {
            lock (_lock)
            {
                int i = 0;
                while (i < buckets.Length && seconds > buckets[i]) i++;
                _counts[i]++;
                _count++;
                _sum += seconds;
            }
        }

        void IFamily.Render(StringBuilder sb)
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(" histogram\n");
            lock (_lock)
            {
                long cumulative = 0;
                for (int i = 0; i <= buckets.Length; i++)
                {
                    cumulative += _counts[i];
                    sb.Append(name).Append("_bucket{le=\"").Append(i < buckets.Length ? Number(buckets[i]) : "+Inf").Append("\"} ").Append(cumulative).Append('\n');
                }
                sb.Append(name).Append("_sum ").Append(Number(_sum)).Append('\n');
                sb.Append(name).Append("_count ").Append(_count).Append('\n');
            }
        }
    }
}
