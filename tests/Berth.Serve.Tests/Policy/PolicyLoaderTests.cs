using System.Text;
using Berth.Serve.Policy;
using Berth.Supply.Signing;
using Berth.Supply.Vulnerabilities;
using Xunit;

namespace Berth.Serve.Tests.Policy;

public class PolicyLoaderTests
{
    internal static readonly string KeyPem;
    internal static readonly SigningKey Key = SigningKey.GenerateEcdsaP256();

    static PolicyLoaderTests() => KeyPem = Key.Public.ToPem();

    internal static ServePolicy Parse(string yaml, Dictionary<string, string>? files = null) =>
        PolicyLoader.Parse(yaml, "policy.yaml", "/etc/berth", p => files is not null && files.TryGetValue(p, out var t)
            ? Encoding.UTF8.GetBytes(t) : throw new Berth.Linux.LinuxException(2, "open", p));

    static string Error(string yaml, Dictionary<string, string>? files = null) => Assert.Throws<PolicyException>(() => Parse(yaml, files)).Message;

    [Fact]
    public void A_policy_reads_its_requirements_keys_and_plugins()
    {
        var p = Parse("""
            trusted_keys: [keys/release.pub]
            require: {signature: true, sbom: true, max_severity: high, provenance_builder: https://ci.test/builder}
            plugins:
              scanners: [berth]
              verifiers: [berth, {name: notation, command: [/usr/bin/notation-plugin, --x], timeout_seconds: 5}]
            """, new() { ["/etc/berth/keys/release.pub"] = KeyPem });
        Assert.Equal(new Requirements(true, true, Severity.High, "https://ci.test/builder"), p.Require);
        Assert.Equal("keys/release.pub", Assert.Single(p.TrustedKeys).Name);
        Assert.Equal(["berth", "notation"], p.Verifiers.Select(v => v.Name));
        Assert.Equal(TimeSpan.FromSeconds(5), p.Verifiers[1].Timeout);
        Assert.Equal(["/usr/bin/notation-plugin", "--x"], p.Verifiers[1].Command!);
        Assert.StartsWith("sha256:", p.Hash);
    }

    [Fact]
    public void The_most_specific_repository_pattern_wins_and_inherits_what_it_does_not_set()
    {
        var p = Parse($$$"""
            trusted_keys: ["{{{KeyPem.Trim().Replace("\n", "\\n")}}}"]
            require: {signature: true, max_severity: critical}
            repositories:
              "*": {require: {sbom: true}}
              "reg.test/team/*": {require: {max_severity: high}}
              "reg.test/team/app": {require: {max_severity: medium, signature: false}}
              "reg.test/team/app/*": {require: {max_severity: low}}
            """);
        Assert.Equal(new Requirements(true, true, Severity.Critical), p.For("other.test/x").Require);
        Assert.Equal("*", p.For("other.test/x").Override);
        Assert.Equal(new Requirements(true, null, Severity.High), p.For("reg.test/team/api").Require);
        Assert.Equal(new Requirements(false, null, Severity.Medium), p.For("reg.test/team/app").Require);
        Assert.Equal(Severity.Low, p.For("reg.test/team/app/sub").Require.MaxSeverity);
        Assert.Equal(Severity.High, p.For("reg.test/team/application").Require.MaxSeverity);
    }

    [Fact]
    public void An_unknown_field_is_an_error_naming_the_field_and_its_line()
    {
        Assert.Equal("policy.yaml:3: require.max_severty: unknown field (expected signature, sbom, max_severity, provenance_builder, provenance_source)",
            Error("# policy\nrequire:\n  max_severty: high\n"));
        Assert.StartsWith("policy.yaml:1: requires: unknown field", Error("requires: {sbom: true}\n"));
    }

    [Fact]
    public void A_bad_value_is_an_error_naming_the_field_and_its_line()
    {
        Assert.Equal("policy.yaml:2: require.max_severity: \"severe\" is not one of critical, high, medium, low, none", Error("require:\n  max_severity: severe\n"));
        Assert.Equal("policy.yaml:1: require.sbom: \"maybe\" is not true or false", Error("require: {sbom: maybe}\n"));
        Assert.Equal("policy.yaml:3: repositories.reg.test/a*b: only a trailing /* is a wildcard", Error("require: {sbom: true}\nrepositories:\n  reg.test/a*b: {require: {sbom: false}}\n"));
        Assert.Matches(@"^policy\.yaml:\d+: ", Error("require: {sbom: true\n"));
    }

    [Fact]
    public void A_signature_requirement_without_keys_is_refused()
    {
        Assert.Equal("policy.yaml:1: require.signature: true, but no trusted_keys are given", Error("require: {signature: true}\n"));
        Assert.StartsWith("policy.yaml:4: repositories.reg.test/x.require.signature: true, but no trusted_keys",
            Error("trusted_keys: []\nrequire: {sbom: true}\nrepositories:\n  reg.test/x: {require: {signature: true}}\n"));
    }

    [Fact]
    public void A_key_that_is_missing_or_not_a_key_names_its_entry()
    {
        Assert.StartsWith("policy.yaml:1: trusted_keys[0]: ", Error("trusted_keys: [missing.pub]\nrequire: {sbom: true}\n"));
        Assert.StartsWith("policy.yaml:1: trusted_keys[1]: ", Error("trusted_keys: [a.pub, b.pub]\nrequire: {sbom: true}\n",
            new() { ["/etc/berth/a.pub"] = KeyPem, ["/etc/berth/b.pub"] = "not a key" }));
    }

    [Fact]
    public void A_plugin_is_the_built_in_or_an_absolute_command()
    {
        Assert.Equal("policy.yaml:2: plugins.scanners[0]: \"grype\" is not a built-in plugin (berth); an external plugin needs a command", Error("require: {sbom: true}\nplugins: {scanners: [grype]}\n"));
        Assert.Equal("policy.yaml:2: plugins.scanners[0].command: \"grype\": the program must be an absolute path",
            Error("require: {sbom: true}\nplugins: {scanners: [{name: grype, command: grype}]}\n"));
    }

    [Fact]
    public void The_same_text_and_keys_give_the_same_hash_and_a_changed_key_file_another()
    {
        const string yaml = "trusted_keys: [k.pub]\nrequire: {signature: true}\n";
        var a = Parse(yaml, new() { ["/etc/berth/k.pub"] = KeyPem });
        var b = Parse(yaml, new() { ["/etc/berth/k.pub"] = KeyPem });
        using var other = SigningKey.GenerateEcdsaP256();
        var c = Parse(yaml, new() { ["/etc/berth/k.pub"] = other.Public.ToPem() });
        Assert.Equal(a.Hash, b.Hash);
        Assert.NotEqual(a.Hash, c.Hash);
    }
}
