namespace Berth.Runtime.Cgroups;

/// <summary>Collects a <see cref="CgroupPlan"/> as a manager decides it.</summary>
public sealed class CgroupPlanBuilder
{
    readonly List<CgroupWrite> _writes = new();
    DeviceProgram? _program;

    public void Add(CgroupWrite write) => _writes.Add(write);

    public void Write(string dir, string file, string value, string field, string controller) =>
        _writes.Add(new CgroupWrite(dir, file, value, field, controller));

    public void Attach(DeviceProgram program) => _program = program;

    public CgroupPlan Build() => _writes.Count == 0 && _program is null ? CgroupPlan.Empty : new CgroupPlan(_writes, _program);
}
