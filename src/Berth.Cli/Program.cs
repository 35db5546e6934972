using Berth.Cli;
using Berth.Cli.Commands;
using Berth.Runtime;

// A container's init is this binary started by the launcher, and never gets here: native/nsenter.c
// puts it in the container's namespaces and native/init.c runs the launcher's plan and execs.
if (args.Length > 0 && args[0] == "init")
{
    Log.Stderr("berth: init is started by `berth create`, `run` or `exec`, not by hand");
    return 2;
}

// `berth`: the runtime's commands and the image toolkit. (`berth-runtime` is the runtime alone,
// a smaller binary that starts faster: what engines are given.)
return Cli.Dispatch(args, new Cli.Extension(
    "berth",
    (command, rest, ctx) => command switch
    {
        "image" => ImageCommands.Run(rest),
        "login" => LoginCommands.Login(rest),
        "logout" => LoginCommands.Logout(rest),
        "sbom" => SupplyCommands.Sbom(rest),
        "scan" => SupplyCommands.Scan(rest),
        "db" => SupplyCommands.Db(rest),
        "vex" => SupplyCommands.Vex(rest),
        _ => null,
    },
    "  image    images: ls, inspect, rm, tag, gc, import, copy, pull, push, sync, list-tags, delete, unpack, umount\n" +
    "  login    log in to a registry (credentials in containers' auth.json)\n" +
    "  logout   forget a registry's credentials\n" +
    "  sbom     a software bill of materials of an image or dir:ROOTFS (spdx-json, cyclonedx-json, table)\n" +
    "  scan     known vulnerabilities of an image, dir:ROOTFS or SBOM (OSV database, OpenVEX applied)\n" +
    "  db       the vulnerability database: import OSV records, status\n" +
    "  vex      vex create: an OpenVEX statement",
    e => e is Berth.Images.ImageException or Berth.Images.Registry.RegistryException or Berth.Supply.SupplyException));
