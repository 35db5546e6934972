using Berth.Images;
using Berth.Serve.Jobs;
using Berth.Serve.Metrics;
using Berth.Serve.Storage;

namespace Berth.Serve.Http;

/// <summary>What every module is given: the options, storage, metrics, readiness, the service's image store and its scans.</summary>
public sealed class ServeContext
{
    public required ServeOptions Options { get; init; }
    public required IServeStore Store { get; init; }
    public required ServeMetrics Metrics { get; init; }
    public required Readiness Readiness { get; init; }
    /// <summary>The service-private store under DATA/images; its registry client honours registries.conf, certs.d and --tls-verify.</summary>
    public required ImageService Images { get; init; }
    public required ScanService Scans { get; init; }
    /// <summary>Berth's own scanner plugin, for PluginSet.Load; jobs use <see cref="Scanner"/>.</summary>
    public required BerthScanner BerthScanner { get; init; }
    /// <summary>The scanner plugin scan jobs call (settable by a module's StartAsync, before the workers start).</summary>
    public Plugins.IScannerPlugin Scanner { get => Scans.Scanner; set => Scans.Scanner = value; }
    /// <summary>One line to the service's log (stderr).</summary>
    public required Action<string> Log { get; init; }
}
