using Berth.Linux;
using System.Text;
using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Images.Registry;

/// <summary>
/// Credentials as containers-auth.json(5) finds them: the primary file ($REGISTRY_AUTH_FILE, else
/// $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/UID/auth.json), then
/// $XDG_CONFIG_HOME/containers/auth.json, then docker's $DOCKER_CONFIG/config.json or
/// ~/.docker/config.json. In each file a credHelpers entry for the registry wins, then the most
/// specific "auths" key (host/ns/repo, host/ns, host), then a credsStore.
/// </summary>
public sealed class AuthFiles : ICredentialSource
{
    /// <summary>The files searched, in order; the first is the one `login` writes.</summary>
    public IReadOnlyList<string> Paths { get; }

    public string Primary => Paths[0];

    public AuthFiles(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new ArgumentException("at least one auth file is required", nameof(paths));
        Paths = paths;
    }

    /// <summary>The default chain; <paramref name="authFile"/> (a --authfile flag) replaces the primary file.</summary>
    public static AuthFiles Default(RegistryEnvironment env, string? authFile = null)
    {
        var paths = new List<string> { authFile ?? DefaultPrimary(env) };
        if (env.ConfigHome is { } ch) paths.Add(Path.Combine(ch, "containers", "auth.json"));
        if (env.DockerConfig is { } dc) paths.Add(Path.Combine(dc, "config.json"));
        else if (env.Home is { } home) paths.Add(Path.Combine(home, ".docker", "config.json"));
        return new AuthFiles(paths.Distinct().ToList());
    }

    /// <summary>Where `login` writes, as podman: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, /run/containers/UID/auth.json.</summary>
    public static string DefaultPrimary(RegistryEnvironment env) =>
        env.RegistryAuthFile ?? (env.XdgRuntimeDir is { } x ? Path.Combine(x, "containers", "auth.json") : $"/run/containers/{env.Uid}/auth.json");

    public RegistryCredentials? Get(string registry, string repository)
    {
        foreach (var path in Paths)
        {
            var file = AuthFile.Read(path);
            if (file is null) continue;
            if (file.Lookup(registry, repository) is { } found) return found;
        }
        return null;
    }

    /// <summary>
    /// Records credentials for <paramref name="key"/> (a host, or host/namespace/repo) in the primary
    /// file (or its credHelpers helper), keeping everything else in the file; 0600, written whole
    /// and renamed into place.
    /// </summary>
    public void Store(string key, RegistryCredentials credentials)
    {
        var file = AuthFile.Read(Primary) ?? AuthFile.Empty(Primary);
        if (file.HelperFor(HostOf(key)) is { } helper)
        {
            CredentialHelper.Store(helper, HostOf(key), credentials);
            return;
        }
        file.SetAuth(key, credentials);
        file.Save();
    }

    /// <summary>Removes <paramref name="key"/> from every file of the chain that has it (podman's logout); false when none had it.</summary>
    public bool Remove(string key)
    {
        bool removed = false;
        foreach (var path in Paths)
        {
            var file = AuthFile.Read(path);
            if (file is null) continue;
            if (file.HelperFor(HostOf(key)) is { } helper)
            {
                removed |= CredentialHelper.Erase(helper, HostOf(key));
                continue;
            }
            if (file.RemoveAuth(key))
            {
                file.Save();
                removed = true;
            }
        }
        return removed;
    }

    /// <summary>Removes every entry of the primary file (logout --all).</summary>
    public void RemoveAll()
    {
        var file = AuthFile.Read(Primary);
        if (file is null) return;
        file.ClearAuths();
        file.Save();
    }

    static string HostOf(string key) => key.Split('/', 2)[0];
}

/// <summary>One auth.json (or docker config.json): the entries Berth reads, and the rest of the file kept as it was.</summary>
internal sealed class AuthFile
{
    readonly string _path;
    readonly List<(string Key, byte[] Raw)> _auths = new();
    readonly Dictionary<string, string> _helpers = new();
    string? _store;
    readonly List<JsonMember> _other = new();
    byte[]? _rawHelpers;

    AuthFile(string path) => _path = path;

    public static AuthFile Empty(string path) => new(path);

    public static AuthFile? Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = FileSystem.ReadBytes(path, 4 << 20);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            return null;
        }
        catch (LinuxException e)
        {
            throw new RegistryException($"auth file: {e.Message}");
        }
        var file = new AuthFile(path);
        if (bytes.Length == 0) return file;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new RegistryException($"auth file {path}: not a JSON object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "auths" when p.Value.ValueKind == JsonValueKind.Object:
                        foreach (var a in p.Value.EnumerateObject())
                            file._auths.Add((a.Name, System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(a.Value).ToArray()));
                        break;
                    case "credHelpers" when p.Value.ValueKind == JsonValueKind.Object:
                        foreach (var h in p.Value.EnumerateObject())
                            if (h.Value.ValueKind == JsonValueKind.String) file._helpers[NormalizeKey(h.Name)] = h.Value.GetString()!;
                        file._rawHelpers = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(p.Value).ToArray();
                        break;
                    case "credsStore" when p.Value.ValueKind == JsonValueKind.String:
                        file._store = p.Value.GetString();
                        file._other.Add(new(p.Name, System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(p.Value).ToArray()));
                        break;
                    default:
                        file._other.Add(new(p.Name, System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(p.Value).ToArray()));
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            throw new RegistryException($"auth file {path}: not valid JSON ({e.Message})");
        }
        return file;
    }

    public string? HelperFor(string host) => _helpers.GetValueOrDefault(NormalizeKey(host));

    public RegistryCredentials? Lookup(string registry, string repository)
    {
        if (HelperFor(registry) is { } helper) return CredentialHelper.Get(helper, registry);
        // Most specific first: host/ns/repo, host/ns, host.
        var path = $"{registry}/{repository}";
        while (true)
        {
            foreach (var (key, raw) in _auths)
                if (NormalizeKey(key) == path && Decode(raw, key) is { } c) return c;
            int slash = path.LastIndexOf('/');
            if (slash < 0) break;
            path = path[..slash];
        }
        return _store is { Length: > 0 } store ? CredentialHelper.Get(store, registry) : null;
    }

    /// <summary>A key as containers/image compares it: no scheme, docker's legacy "index.docker.io/v1/" as docker.io, no trailing path for URL keys.</summary>
    internal static string NormalizeKey(string key)
    {
        bool url = false;
        if (key.StartsWith("https://")) { key = key[8..]; url = true; }
        else if (key.StartsWith("http://")) { key = key[7..]; url = true; }
        if (url) key = key.Split('/', 2)[0];
        key = key.TrimEnd('/');
        if (key == "index.docker.io" || key == "registry-1.docker.io") key = Reference.DockerHub;
        return key;
    }

    RegistryCredentials? Decode(byte[] raw, string key)
    {
        using var doc = JsonDocument.Parse(raw);
        var e = doc.RootElement;
        if (e.ValueKind != JsonValueKind.Object) return null;
        string? Field(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (Field("identitytoken") is { Length: > 0 } token) return new RegistryCredentials(RegistryCredentials.IdentityTokenUser, token);
        if (Field("auth") is not { Length: > 0 } auth) return null;
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
        }
        catch (FormatException)
        {
            throw new RegistryException($"auth file {_path}: auths.{key}.auth is not base64");
        }
        int colon = text.IndexOf(':');
        if (colon < 0) throw new RegistryException($"auth file {_path}: auths.{key}.auth is not base64 of user:password");
        return new RegistryCredentials(text[..colon], text[(colon + 1)..].TrimEnd('\n'));
    }

    public void SetAuth(string key, RegistryCredentials c)
    {
        RemoveAuth(key);
        var raw = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("auth", c.BasicHeader());
            w.WriteEndObject();
        });
        _auths.Add((key, raw));
    }

    public bool RemoveAuth(string key) => _auths.RemoveAll(a => NormalizeKey(a.Key) == NormalizeKey(key)) > 0;

    public void ClearAuths() => _auths.Clear();

    /// <summary>Writes the file whole (tab-indented, as containers/image does) to a temporary name, then renames it: a reader never sees half a file.</summary>
    public void Save()
    {
        var bytes = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("auths");
            foreach (var (key, raw) in _auths)
            {
                w.WritePropertyName(key);
                w.WriteRawValue(raw, skipInputValidation: true);
            }
            w.WriteEndObject();
            if (_rawHelpers is not null)
            {
                w.WritePropertyName("credHelpers");
                w.WriteRawValue(_rawHelpers, skipInputValidation: true);
            }
            foreach (var m in _other)
            {
                w.WritePropertyName(m.Name);
                w.WriteRawValue(m.Utf8Value, skipInputValidation: true);
            }
            w.WriteEndObject();
        }, "\t");
        var dir = Path.GetDirectoryName(Path.GetFullPath(_path))!;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(_path)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            // Credentials: a new directory is the user's alone, and so is the file.
            if (!Directory.Exists(dir)) FileSystem.CreateDirectory(dir, 0x1c0 /* 0700 */);
            using (var f = new FdStream(FileSystem.CreateNew(tmp, 0x180 /* 0600 */), tmp, read: false, write: true))
            {
                f.Write(bytes);
                f.WriteByte((byte)'\n');
                f.Sync();
            }
            FileSystem.Rename(tmp, _path);
        }
        catch (LinuxException e)
        {
            throw new RegistryException($"auth file: {e.Message}");
        }
        finally
        {
            FileSystem.TryDelete(tmp);
        }
    }
}
