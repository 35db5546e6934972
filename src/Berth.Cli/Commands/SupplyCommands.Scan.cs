using System.Text;
using Berth.Linux;
using Berth.Supply;
using Berth.Supply.Sbom;
using Berth.Supply.Vex;
using Berth.Supply.Vulnerabilities;

namespace Berth.Cli.Commands;

public static partial class SupplyCommands
{
    const string ScanUsage = "scan: usage: berth scan IMAGE|dir:ROOTFS|SBOM.json [--db DIR] [--format table|json|sarif] [--fail-on SEVERITY] [--only-fixed] [--vex FILE]... [-o FILE]";

    /// <summary>Exit status when findings break the --fail-on policy (grype's: 1 is also its error status, so Berth uses 3).</summary>
    public const int PolicyFailed = 3;

    public static int Scan(IReadOnlyList<string> args) => Guard("scan", () =>
    {
        var cl = CommandLine.Parse(args, new Flag[]
        {
            new("db", null, true), new("format", 'f', true), new("fail-on", null, true), new("only-fixed"), new("vex", null, true, Repeated: true),
            new("output", 'o', true), new("store", null, true), new("platform", null, true),
        }, stopAtPositional: false);
        if (cl.Positional.Count != 1) throw new UsageException(ScanUsage);
        var format = cl.Value("format") ?? "table";
        if (format is not ("table" or "json" or "sarif")) throw new UsageException($"--format: \"{format}\" is not table, json or sarif");
        Severity? failOn = cl.Value("fail-on") is { } fo ? Severities.Parse(fo) : null;
        var statements = new List<OpenVexStatement>();
        foreach (var vex in cl.Values("vex")) statements.AddRange(OpenVexStatement.Read(FileSystem.ReadBytes(vex), vex));

        // The database first: a missing one is the error, not whatever cataloging meets.
        using var db = OsvDatabase.Open(cl.Value("db") ?? OsvDatabase.DefaultDirectory);
        var target = cl.Positional[0];
        List<Matcher.Target> targets;
        if (!target.Contains(':') && System.IO.File.Exists(target))
        {
            var bytes = FileSystem.ReadBytes(target, 1L << 31);
            if (!SbomReader.LooksLikeSbom(bytes)) throw new SupplyException($"{target}: not a CycloneDX or SPDX JSON document");
            targets = SbomReader.Read(bytes, target);
        }
        else
        {
            using var root = OpenRoot(target, cl.Value("store"), cl.Value("platform"));
            targets = Inventory.Of(root).Packages.Select(p => new Matcher.Target(p.Purl, p.Location)).ToList();
        }
        var findings = OpenVexStatement.Apply(Matcher.Match(db, targets), statements);
        var output = format switch
        {
            "json" => ScanReport.Json(findings),
            "sarif" => ScanReport.Sarif(findings, ToolVersion, target),
            _ => Encoding.UTF8.GetBytes(ScanReport.Table(findings)),
        };
        WriteResult(cl.Value("output"), output);
        if (failOn is not { } threshold) return 0;
        // The CI policy: at or above the threshold, not suppressed by VEX, and (with --only-fixed) fixable; the rest are warnings.
        var failing = findings.Where(f => !f.Suppressed && f.Severity >= threshold && (!cl.Has("only-fixed") || f.FixedIn is not null)).ToList();
        if (failing.Count == 0) return 0;
        Runtime.Log.Stderr($"berth: scan: {failing.Count} findings at or above {threshold.ToString().ToLowerInvariant()}{(cl.Has("only-fixed") ? " with a fix" : "")}: " +
            string.Join(", ", failing.Select(f => $"{f.Record.Id} ({f.PackageName})").Distinct().Take(10)) + (failing.Count > 10 ? ", ..." : ""));
        return PolicyFailed;
    });

    public static int Db(IReadOnlyList<string> args) => Guard("db", () =>
    {
        var cl = CommandLine.Parse(args, new Flag[] { new("db", null, true) }, stopAtPositional: false);
        var dir = cl.Value("db") ?? OsvDatabase.DefaultDirectory;
        var sub = cl.Positional.Count > 0 ? cl.Positional[0] : throw new UsageException("db: usage: berth db import [--db DIR] FILE|DIR... | berth db status [--db DIR]");
        switch (sub)
        {
            case "import":
            {
                var inputs = cl.Positional.Skip(1).ToList();
                if (inputs.Count == 0) throw new UsageException("db import: an OSV .json file, .zip dump or directory is required");
                foreach (var i in inputs)
                    if (!System.IO.File.Exists(i) && !System.IO.Directory.Exists(i)) throw new SupplyException($"{i}: no such file or directory");
                var (added, total) = OsvDatabase.Import(dir, inputs, DateTimeOffset.UtcNow);
                Output.Write($"imported {added} new records into {dir}: {total} records\n");
                return 0;
            }
            case "status":
            {
                using var db = OsvDatabase.Open(dir);
                var age = db.Imported is { } at ? DateTimeOffset.UtcNow - at : (TimeSpan?)null;
                Output.Write($"database: {dir}\nrecords: {db.RecordCount}\necosystems: {string.Join(", ", db.EcosystemNames().Order(StringComparer.Ordinal))}\n" +
                    $"imported: {(db.Imported is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) : "unknown")}" +
                    $"{(age is { } a ? $" ({(a.TotalDays >= 1 ? $"{(int)a.TotalDays} days" : a.TotalHours >= 1 ? $"{(int)a.TotalHours} hours" : $"{(int)a.TotalMinutes} minutes")} ago)" : "")}\n");
                return 0;
            }
            default:
                throw new UsageException($"db: unknown subcommand \"{sub}\" (import, status)");
        }
    });

    public static int Vex(IReadOnlyList<string> args) => Guard("vex", () =>
    {
        var cl = CommandLine.Parse(args, new Flag[]
        {
            new("product", null, true, Repeated: true), new("vuln", null, true), new("status", null, true), new("justification", null, true),
            new("impact", null, true), new("action", null, true), new("author", null, true), new("output", 'o', true),
        }, stopAtPositional: false);
        if (cl.Positional.Count != 1 || cl.Positional[0] != "create")
            throw new UsageException("vex: usage: berth vex create --product PURL... --vuln ID --status not_affected|affected|fixed|under_investigation [--justification J] [--impact TEXT] [--action TEXT] [--author NAME] [-o FILE]");
        var doc = VexWriter.Create(cl.Value("vuln") ?? throw new UsageException("vex create: --vuln is required"), cl.Values("product"),
            cl.Value("status") ?? throw new UsageException("vex create: --status is required"), cl.Value("justification"), cl.Value("impact"), cl.Value("action"),
            cl.Value("author") ?? "Unknown Author", DateTimeOffset.UtcNow);
        WriteResult(cl.Value("output"), doc);
        return 0;
    });
}
