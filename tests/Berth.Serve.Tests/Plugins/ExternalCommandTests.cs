using Berth.Serve.Plugins;
using Berth.Serve.Policy;
using Berth.Serve.Tests.Policy;
using Berth.Supply.Signing;
using Xunit;

namespace Berth.Serve.Tests.Plugins;

/// <summary>An external plugin is any program speaking berth.serve.plugin/v1: here small python scripts, as a wrapper around grype or cosign would be.</summary>
public sealed class ExternalCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-plugin-").FullName;

    string Script(string name, string body)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, "#!/usr/bin/python3\nimport json, sys, base64\nreq = json.load(sys.stdin)\n" + body);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public void A_scanner_plugin_gets_the_image_and_answers_matches()
    {
        var exe = Script("scan", """
            assert req["protocol"] == "berth.serve.plugin/v1" and req["kind"] == "scan"
            print(json.dumps({"database_version": "grype-5", "matches": [
              {"id": "CVE-2024-1", "aliases": ["GHSA-x"], "package": "openssl", "version": "3.0.1", "purl": "pkg:deb/debian/openssl@3.0.1",
               "severity": "Critical", "fixed_in": "3.0.2", "note": req["image"] + " " + req["digest"]}]}))
            """);
        var plugin = new ExternalCommand("grype", [exe], TimeSpan.FromSeconds(30));
        var output = plugin.Scan(new ScanInput("reg.test/app:1", PolicyEngineTests.Image, null), default);
        Assert.Equal("grype-5", output.DatabaseVersion);
        var m = Assert.Single(output.Matches);
        Assert.Equal(["GHSA-x"], m.Aliases);
        Assert.Equal(new ScanMatch("CVE-2024-1", m.Aliases, "openssl", "3.0.1", "pkg:deb/debian/openssl@3.0.1", "critical", "3.0.2"), m);
    }

    [Fact]
    public void A_verifier_plugin_decides_the_signature_check()
    {
        // Admits when it is given the trusted key and a signature: what it checks is its business.
        var exe = Script("verify", """
            ok = len(req["signatures"]) > 0 and req["trusted_keys"][0].startswith("-----BEGIN PUBLIC KEY-----")
            print(json.dumps({"verified": ok, "details": ["checked %d signatures of %s" % (len(req["signatures"]), req["digest"])]}))
            """);
        var yaml = PolicyEngineTests.Policy("{signature: true}") + $"plugins:\n  verifiers: [{{name: custom, command: [{exe}]}}]\n";
        var policy = PolicyLoaderTests.Parse(yaml);
        var set = PluginSet.Load(policy, null);
        Assert.Null(set.Scanner);
        var d = PolicyEngine.Evaluate(policy, PolicyEngineTests.Of(PolicyEngineTests.Signed()), set.Verifiers);
        Assert.True(d.Allowed);
        Assert.Equal($"signature: passed: custom: checked 1 signatures of {PolicyEngineTests.Image}", d.Reasons[0].ToString());
        var refused = PolicyEngine.Evaluate(policy, PolicyEngineTests.Of(new MemoryPlace()), set.Verifiers);
        Assert.False(refused.Allowed);
    }

    [Fact]
    public void A_failing_plugin_is_an_error_naming_it_and_its_message()
    {
        var plugin = new ExternalCommand("broken", [Script("err", "print(json.dumps({'error': 'no database'}))\nsys.exit(4)\n")], TimeSpan.FromSeconds(30));
        var e = Assert.Throws<PluginException>(() => plugin.Scan(new ScanInput("x", PolicyEngineTests.Image, null), default));
        Assert.Equal("plugin broken (scan): exit status 4: no database", e.Message);
        var garbled = new ExternalCommand("garbled", [Script("garbled", "print('hello')\n")], TimeSpan.FromSeconds(30));
        Assert.Equal("plugin garbled (scan): the answer on stdout is not JSON", Assert.Throws<PluginException>(() => garbled.Scan(new ScanInput("x", PolicyEngineTests.Image, null), default)).Message);
        var badSeverity = new ExternalCommand("sev", [Script("sev", "print(json.dumps({'matches': [{'id': 'X', 'package': 'p', 'purl': 'pkg:npm/p@1', 'severity': 'severe'}]}))\n")], TimeSpan.FromSeconds(30));
        Assert.Equal("plugin sev (scan): matches[0].severity: \"severe\" is not critical, high, medium, low, negligible or unknown",
            Assert.Throws<PluginException>(() => badSeverity.Scan(new ScanInput("x", PolicyEngineTests.Image, null), default)).Message);
        var missing = new ExternalCommand("missing", [Path.Combine(_dir, "nothing")], TimeSpan.FromSeconds(30));
        Assert.StartsWith($"plugin missing (scan): {Path.Combine(_dir, "nothing")}: ", Assert.Throws<PluginException>(() => missing.Scan(new ScanInput("x", PolicyEngineTests.Image, null), default)).Message);
    }

    [Fact]
    public void A_plugin_that_does_not_answer_is_killed_at_its_timeout()
    {
        var plugin = new ExternalCommand("slow", [Script("slow", "import time\ntime.sleep(600)\n")], TimeSpan.FromSeconds(1));
        Assert.Equal("plugin slow (verify): no answer within 1 s",
            Assert.Throws<PluginException>(() => plugin.Verify(new VerifyInput("r", PolicyEngineTests.Image, [], []), default)).Message);
    }

    [Fact]
    public void A_verifier_that_fails_counts_as_not_verified_with_its_reason()
    {
        var yaml = PolicyEngineTests.Policy("{signature: true}") + $"plugins:\n  verifiers: [{{name: down, command: [{Script("down", "sys.exit(1)\n")}]}}]\n";
        var policy = PolicyLoaderTests.Parse(yaml);
        var d = PolicyEngine.Evaluate(policy, PolicyEngineTests.Of(PolicyEngineTests.Signed()), PluginSet.Load(policy, null).Verifiers);
        Assert.False(d.Allowed);
        Assert.Equal("signature: down: plugin down (verify): exit status 1: no error message", d.Summary);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
