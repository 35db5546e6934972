using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>A cataloger of files found anywhere in the tree (one walk serves them all): it says which names it wants and reads each.</summary>
public interface IFileCataloger
{
    string Name { get; }
    bool Wants(string dir, string name);
    IEnumerable<Package> Read(RootView root, string path);
}
