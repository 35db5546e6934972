using Berth.Engine.Build.Syntax;

namespace Berth.Engine.Build.Stages;

/// <summary>One FROM and the instructions up to the next.</summary>
public sealed record Stage(int Index, FromInstruction From, IReadOnlyList<Instruction> Instructions)
{
    public string? Name => From.StageName;
    public string Label => Name ?? Index.ToString();
}

/// <summary>
/// A Containerfile's stages and what feeds what: FROM of an earlier stage, COPY --from and
/// RUN --mount from=. Only the stages the target needs are built (buildkit's and buildah's
/// default); a reference to the stage itself or to a later one is a cycle and an error.
/// </summary>
public sealed class StageGraph
{
    public IReadOnlyList<ArgInstruction> GlobalArgs { get; }
    public IReadOnlyList<Stage> Stages { get; }
    public Stage Target { get; }
    /// <summary>Stage index → the stage indexes it reads, in the order they are named.</summary>
    public IReadOnlyDictionary<int, IReadOnlyList<int>> Dependencies { get; }
    /// <summary>The stages the target needs, the target last, dependencies before dependents.</summary>
    public IReadOnlyList<Stage> Needed { get; }

    StageGraph(List<ArgInstruction> args, List<Stage> stages, Stage target, Dictionary<int, IReadOnlyList<int>> deps, List<Stage> needed)
    {
        GlobalArgs = args;
        Stages = stages;
        Target = target;
        Dependencies = deps;
        Needed = needed;
    }

    /// <param name="expandGlobal">Expands a FROM image or a --from value with the global ARGs.</param>
    public static StageGraph Of(Containerfile file, string? target, Func<string, string> expandGlobal)
    {
        var globals = new List<ArgInstruction>();
        var stages = new List<Stage>();
        FromInstruction? from = null;
        var body = new List<Instruction>();
        foreach (var ins in file.Instructions)
        {
            if (ins is FromInstruction f)
            {
                if (from is not null) stages.Add(new Stage(stages.Count, from, body));
                from = f;
                body = new List<Instruction>();
            }
            else if (from is null)
            {
                if (ins is not ArgInstruction a) throw new EngineException($"{ins.At}: {ins.Keyword} before the first FROM: only ARG may come before FROM");
                globals.Add(a);
            }
            else body.Add(ins);
        }
        if (from is null) throw new EngineException($"{file.File}: no FROM instruction: a Containerfile starts with FROM (after ARGs)");
        stages.Add(new Stage(stages.Count, from, body));

        var byName = new Dictionary<string, Stage>(StringComparer.OrdinalIgnoreCase);
        foreach (var s in stages)
            if (s.Name is { } n)
            {
                if (byName.ContainsKey(n)) throw new EngineException($"{s.From.At}: the stage name \"{n}\" is already used by another stage");
                byName[n] = s;
            }

        Stage? Lookup(string reference) =>
            byName.TryGetValue(reference, out var s) ? s : int.TryParse(reference, out var i) && i >= 0 && i < stages.Count ? stages[i] : null;

        var deps = new Dictionary<int, IReadOnlyList<int>>();
        foreach (var s in stages)
        {
            var list = new List<int>();
            void Refer(string reference, Location at, string what)
            {
                var other = Lookup(reference);
                if (other is null) return; // an image, not a stage
                if (other.Index >= s.Index)
                    throw new EngineException($"{at}: {what}: stage \"{other.Label}\" is {(other.Index == s.Index ? "this stage itself" : "a later stage")}: that is a cycle");
                if (!list.Contains(other.Index)) list.Add(other.Index);
            }
            // FROM NAME is a stage only when an earlier stage has that name (else it is an image).
            if (byName.TryGetValue(expandGlobal(s.From.Image), out var base_) && base_.Index < s.Index) list.Add(base_.Index);
            foreach (var ins in s.Instructions)
            {
                if (ins is CopyInstruction { From: { } fromRef }) Refer(expandGlobal(fromRef), ins.Flags.Last(f => f.Name == "from").At, "COPY --from=" + fromRef);
                if (ins is RunInstruction run)
                    foreach (var m in run.Flags.Where(f => f.Name == "mount"))
                        foreach (var part in (m.Value ?? "").Split(','))
                            if (part.StartsWith("from=", StringComparison.Ordinal)) Refer(expandGlobal(part[5..]), m.At, "RUN --mount from=" + part[5..]);
            }
            deps[s.Index] = list;
        }

        Stage t;
        if (target is null) t = stages[^1];
        else t = byName.TryGetValue(target, out var named) ? named : throw new EngineException($"--target {target}: no stage of that name in {file.File} (stages: {string.Join(", ", stages.Select(x => x.Label))})");

        var needed = new SortedSet<int>();
        void Need(int i)
        {
            if (!needed.Add(i)) return;
            foreach (var d in deps[i]) Need(d);
        }
        Need(t.Index);
        return new StageGraph(globals, stages, t, deps, needed.Select(i => stages[i]).ToList());
    }

    /// <summary>The stage a FROM image or --from value names (a name or an index), or null for an image.</summary>
    public Stage? Find(string reference, int before)
    {
        foreach (var s in Stages)
            if (s.Index < before && s.Name is { } n && n.Equals(reference, StringComparison.OrdinalIgnoreCase)) return s;
        return int.TryParse(reference, out var i) && i >= 0 && i < before ? Stages[i] : null;
    }
}
