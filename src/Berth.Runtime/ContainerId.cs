namespace Berth.Runtime;

/// <summary>runc's id rules: 1–1024 of [A-Za-z0-9_+.-], and not "." or "..", so an id is always one path element.</summary>
public static class ContainerId
{
    public static void Validate(string id)
    {
        if (id.Length == 0) throw new RuntimeException("invalid container id: must not be empty");
        if (id.Length > 1024) throw new RuntimeException("invalid container id: longer than 1024 characters");
        if (id is "." or "..") throw new RuntimeException($"invalid container id \"{id}\"");
        foreach (var c in id)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '+' or '-' or '.'))
                throw new RuntimeException($"invalid container id \"{id}\": only A-Z a-z 0-9 _ + - . are allowed");
    }
}
