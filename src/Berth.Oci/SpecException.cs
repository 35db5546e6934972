namespace Berth.Oci;

/// <summary>A document that breaks its spec: which field, and what is wrong with it.</summary>
public sealed class SpecException : Exception
{
    /// <summary>Dotted JSON path of the offending field, e.g. "process.args[0]".</summary>
    public string Field { get; }

    public SpecException(string field, string problem) : base($"{field}: {problem}") => Field = field;
}
