using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>Reads the files one package manager keeps about what it installed.</summary>
public interface ICataloger
{
    string Name { get; }
    IEnumerable<Package> Catalog(RootView root, OsRelease? os);
}
