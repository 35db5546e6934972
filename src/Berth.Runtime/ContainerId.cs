using Berth.Runtime.Store;

namespace Berth.Runtime;

/// <summary>
/// The one rule for container ids, checked by every command that takes one: 1 to
/// <see cref="MaxLength"/> of [A-Za-z0-9_+.-], not starting with '.'. An id is always one plain
/// path element of the state root, and the names Berth derives from it fit in NAME_MAX.
/// </summary>
/// <remarks>
/// runc's rule is the regexp ^[\w+-\.]+$ without "." and "..". Its class "+-\." is a range
/// from '+' to '.', so it also admits ','; Berth does not (',' separates mount options and
/// cgroup v1 controller lists). A leading '.' is refused because the state root keeps its own
/// entries (create's temporary directories, the seccomp cache) under dot names that no
/// container may collide with, and `list` skips them; that also covers "." and "..".
/// </remarks>
public static class ContainerId
{
    /// <summary>NAME_MAX less the decoration of the longest name derived from an id in the state root.</summary>
    public const int MaxLength = StateStore.MaxIdLength;

    /// <summary>Why <paramref name="id"/> is not a container id, or null if it is one.</summary>
    public static string? Problem(string id)
    {
        if (id.Length == 0) return "must not be empty";
        if (id.Length > MaxLength) return $"is {id.Length} characters long, longer than {MaxLength}";
        if (id[0] == '.') return "must not start with '.'";
        foreach (var c in id)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '+' or '-' or '.'))
                return "only A-Z a-z 0-9 _ + - . are allowed";
        return null;
    }

    public static bool IsValid(string id) => Problem(id) is null;

    public static void Validate(string id)
    {
        if (Problem(id) is not { } problem) return;
        // A long id is named by its start: the line stays readable.
        var shown = id.Length > 64 ? id[..64] + "…" : id;
        throw new RuntimeException($"invalid container id \"{shown}\": {problem}");
    }
}
