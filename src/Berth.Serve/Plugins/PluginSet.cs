using Berth.Serve.Policy;

namespace Berth.Serve.Plugins;

/// <summary>
/// The plugins the policy file's `plugins:` section names, made once at start-up (a reload changes
/// requirements and keys, not which programs run). "berth" is the built-in of each kind; anything
/// else is an external command. Several scanners: each one scans, and their matches are joined.
/// </summary>
public sealed class PluginSet
{
    /// <summary>The scanner to call; null when only the built-in is named and the caller has none to give (the service's own scan then runs).</summary>
    public IScannerPlugin? Scanner { get; }
    public IReadOnlyList<ISignatureVerifierPlugin> Verifiers { get; }

    PluginSet(IScannerPlugin? scanner, IReadOnlyList<ISignatureVerifierPlugin> verifiers)
    {
        Scanner = scanner;
        Verifiers = verifiers;
    }

    /// <param name="berthScanner">Berth's own scanner (the service's in-process scan); null where scans are not run (tests of verifiers).</param>
    public static PluginSet Load(ServePolicy policy, IScannerPlugin? berthScanner)
    {
        var scanners = policy.Scanners.Select(s => s.Command is null ? berthScanner : new ExternalCommand(s.Name, s.Command, s.Timeout))
            .Where(s => s is not null).Select(s => s!).ToList();
        var verifiers = policy.Verifiers.Select(v => v.Command is null ? (ISignatureVerifierPlugin)new BerthVerifier() : new ExternalCommand(v.Name, v.Command, v.Timeout)).ToList();
        return new PluginSet(scanners.Count switch { 0 => null, 1 => scanners[0], _ => new JoinedScanner(scanners) }, verifiers);
    }

    sealed class JoinedScanner(IReadOnlyList<IScannerPlugin> scanners) : IScannerPlugin
    {
        public string Name => string.Join("+", scanners.Select(s => s.Name));

        public ScanOutput Scan(ScanInput input, CancellationToken cancel)
        {
            var outputs = scanners.Select(s => s.Scan(input, cancel)).ToList();
            var matches = outputs.SelectMany(o => o.Matches).DistinctBy(m => (m.Id, m.Purl)).ToList();
            return new ScanOutput(string.Join("+", outputs.Select((o, i) => $"{scanners[i].Name}:{o.DatabaseVersion}")), matches, outputs.Select(o => o.Sbom).FirstOrDefault(s => s is not null));
        }
    }
}
