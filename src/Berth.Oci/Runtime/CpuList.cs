namespace Berth.Oci.Runtime;

/// <summary>The kernel's CPU list format ("0-3,7"), as in cpuset.cpus and process.execCPUAffinity.</summary>
public static class CpuList
{
    public static List<int> Parse(string text, string field)
    {
        var cpus = new SortedSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0) throw new SpecException(field, $"\"{text}\" has an empty item");
            var range = part.Split('-');
            if (range.Length > 2 || !int.TryParse(range[0], out int lo) || lo < 0)
                throw new SpecException(field, $"\"{part}\" is not a CPU number or range");
            int hi = lo;
            if (range.Length == 2 && (!int.TryParse(range[1], out hi) || hi < lo))
                throw new SpecException(field, $"\"{part}\" is not a CPU range");
            if (hi >= 8192) throw new SpecException(field, $"CPU {hi} is out of range");
            for (int c = lo; c <= hi; c++) cpus.Add(c);
        }
        return cpus.ToList();
    }
}
