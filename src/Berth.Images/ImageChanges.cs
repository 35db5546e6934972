using Berth.Oci.Image;

namespace Berth.Images;

/// <summary>
/// `commit --change`: the Dockerfile instructions that set config fields (docker's and podman's
/// list: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL). A CMD or
/// ENTRYPOINT is JSON (exec form) or else a shell string run by /bin/sh -c, as in a Dockerfile.
/// </summary>
public static class ImageChanges
{
    /// <summary>Checks every change against a scratch config: bad input fails before anything is read or stored.</summary>
    public static void Validate(IEnumerable<string> changes)
    {
        var scratch = new ContainerConfig();
        foreach (var c in changes) Apply(scratch, c);
    }

    public static void Apply(ContainerConfig config, string change)
    {
        var text = change.Trim();
        int space = text.IndexOfAny(new[] { ' ', '\t' });
        var instruction = (space < 0 ? text : text[..space]).ToUpperInvariant();
        var rest = space < 0 ? "" : text[(space + 1)..].Trim();
        if (instruction.Length == 0) throw new ImageException("--change \"\": an instruction is required (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL)");
        if (rest.Length == 0) throw new ImageException($"--change \"{change}\": {instruction} needs a value");
        switch (instruction)
        {
            case "CMD":
                config.Cmd = Command(rest, change);
                break;
            case "ENTRYPOINT":
                config.Entrypoint = Command(rest, change);
                break;
            case "ENV":
                foreach (var (k, v) in Pairs(rest, change, allowSpaceForm: true))
                {
                    config.Env ??= new();
                    config.Env.RemoveAll(e => e == k || e.StartsWith(k + "=", StringComparison.Ordinal));
                    config.Env.Add($"{k}={v}");
                }
                break;
            case "LABEL":
                foreach (var (k, v) in Pairs(rest, change, allowSpaceForm: true))
                {
                    config.Labels ??= new();
                    config.Labels[k] = v;
                }
                break;
            case "EXPOSE":
                foreach (var p in rest.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var parts = p.Split('/');
                    if (parts.Length > 2 || !int.TryParse(parts[0], out int port) || port is < 1 or > 65535 || (parts.Length == 2 && parts[1] is not ("tcp" or "udp" or "sctp")))
                        throw new ImageException($"--change \"{change}\": \"{p}\" is not PORT[/tcp|udp|sctp]");
                    var key = parts.Length == 2 ? p : p + "/tcp";
                    config.ExposedPorts ??= new();
                    if (!config.ExposedPorts.Contains(key)) config.ExposedPorts.Add(key);
                }
                break;
            case "USER":
                config.User = rest;
                break;
            case "WORKDIR":
                if (!rest.StartsWith('/')) throw new ImageException($"--change \"{change}\": WORKDIR must be an absolute path");
                config.WorkingDir = rest;
                break;
            case "VOLUME":
                foreach (var v in rest.StartsWith('[') ? JsonList(rest, change) : rest.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList())
                {
                    if (!v.StartsWith('/')) throw new ImageException($"--change \"{change}\": VOLUME \"{v}\" is not an absolute path");
                    config.Volumes ??= new();
                    if (!config.Volumes.Contains(v)) config.Volumes.Add(v);
                }
                break;
            case "STOPSIGNAL":
                config.StopSignal = rest;
                break;
            default:
                throw new ImageException($"--change \"{change}\": {instruction} is not an instruction commit can apply (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL)");
        }
    }

    static List<string> Command(string rest, string change) =>
        rest.StartsWith('[') ? JsonList(rest, change) : new List<string> { "/bin/sh", "-c", rest };

    static List<string> JsonList(string rest, string change)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(rest);
            if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Array) throw new ImageException($"--change \"{change}\": not a JSON array");
            var list = new List<string>();
            foreach (var e in doc.RootElement.EnumerateArray())
                list.Add(e.ValueKind == System.Text.Json.JsonValueKind.String ? e.GetString()! : throw new ImageException($"--change \"{change}\": the JSON array holds a non-string"));
            return list;
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ImageException($"--change \"{change}\": not a JSON array of strings ({e.Message.Split('.')[0]})");
        }
    }

    /// <summary>"K=V K2=V2" (values may be double-quoted), or the old "K V" form with one pair.</summary>
    static List<(string, string)> Pairs(string rest, string change, bool allowSpaceForm)
    {
        var list = new List<(string, string)>();
        var first = rest.IndexOfAny(new[] { '=', ' ' });
        if (allowSpaceForm && first > 0 && rest[first] == ' ')
        {
            list.Add((rest[..first], rest[(first + 1)..].Trim()));
            return list;
        }
        int i = 0;
        while (i < rest.Length)
        {
            while (i < rest.Length && rest[i] == ' ') i++;
            if (i >= rest.Length) break;
            int eq = rest.IndexOf('=', i);
            if (eq <= i) throw new ImageException($"--change \"{change}\": not KEY=VALUE");
            var key = rest[i..eq];
            if (key.Contains(' ')) throw new ImageException($"--change \"{change}\": not KEY=VALUE");
            i = eq + 1;
            var value = new System.Text.StringBuilder();
            if (i < rest.Length && rest[i] == '"')
            {
                i++;
                while (i < rest.Length && rest[i] != '"')
                {
                    if (rest[i] == '\\' && i + 1 < rest.Length) i++;
                    value.Append(rest[i++]);
                }
                if (i >= rest.Length) throw new ImageException($"--change \"{change}\": unterminated quote");
                i++;
            }
            else
                while (i < rest.Length && rest[i] != ' ') value.Append(rest[i++]);
            list.Add((key, value.ToString()));
        }
        return list;
    }
}
