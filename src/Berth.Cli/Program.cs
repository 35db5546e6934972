using Berth.Cli;
using Berth.Cli.Commands;
using Berth.Runtime;

// A container's init is this binary started by the launcher, and never gets here: native/nsenter.c
// puts it in the container's namespaces and native/init.c runs the launcher's plan and execs.
if (args.Length > 0 && args[0] == "init")
{
    Log.Stderr("berth: init is started by `berth runtime create`, `run` or `exec`, not by hand");
    return 2;
}

// `berth`: the engine's face (podman's habits: run IMAGE, ps, logs, exec …), the image toolkit,
// and the OCI runtime's commands as `berth runtime COMMAND`. (`berth-runtime` is the runtime
// alone, a smaller binary that starts faster: what conmon and other engines are given.)
return Cli.Dispatch(args, new Cli.Extension(
    "berth",
    (command, rest, ctx) => command switch
    {
        "image" when ctx.Global?.Value("store") is null => ImageCommands.Run(rest),
        "login" => LoginCommands.Login(rest),
        "logout" => LoginCommands.Logout(rest),
        // The engine's global --store holds the networks' state too (STORE/networks).
        "network" => NetworkCommands.Run(ctx.Global?.Value("store") is { } st ? rest.Take(1).Concat(new[] { "--store", st }).Concat(rest.Skip(1)).ToList() : rest),
        // Images of the engine's --store are in STORE/images.
        "sbom" => SupplyCommands.Sbom(EngineCommands.WithImageStore(ctx, rest)),
        "scan" => SupplyCommands.Scan(EngineCommands.WithImageStore(ctx, rest)),
        "db" => SupplyCommands.Db(rest),
        "vex" => SupplyCommands.Vex(rest),
        "key" => SignCommands.Key(rest),
        "verify-provenance" => SignCommands.VerifyProvenance(EngineCommands.WithImageStore(ctx, rest)),
        "serve" => ServeCommand.Run(rest),
        _ => EngineCommands.Run(command, rest, ctx),
    },
    "",
    e => e is Berth.Images.ImageException or Berth.Images.Registry.RegistryException or Berth.Supply.SupplyException,
    GlobalFlags: new Flag[] { new("store", null, true) },
    UsageText: "berth: containers from images, hardened by default, no daemon\n\n" +
        "Usage: berth [--store DIR] [--root DIR] COMMAND [options] [arguments]\n\nCommands:\n" +
        EngineCommands.UsageLines +
        BuildCommands.UsageLine +
        "  image    images: ls, inspect, rm, tag, gc, import, copy, pull, push, sync, list-tags, delete, unpack, umount, sign, verify, attest, verify-attestation, download-attestation, attach, referrers\n" +
        "  network  CNI networks: create, ls, inspect, rm, prune\n" +
        "  sbom     a software bill of materials of an image or dir:ROOTFS (spdx-json, cyclonedx-json, table)\n" +
        "  scan     known vulnerabilities of an image, dir:ROOTFS or SBOM (OSV database, OpenVEX applied)\n" +
        "  db       the vulnerability database: import OSV records, status\n" +
        "  vex      vex create: an OpenVEX statement\n" +
        "  key      key generate: a cosign key pair (image sign|verify|attest|verify-attestation|download-attestation use it)\n" +
        "  verify-provenance  an image's SLSA provenance: --key PUB --builder-id ID --source-uri URI\n" +
        "  serve    the scanning and signing service (berth-serve): /scan, /promote, /vex, /audit, /imagepolicy\n\n" +
        "Global options:\n" +
        "  --store DIR   the engine's store: containers, volumes, networks, images (DIR/images) (default /var/lib/berth)\n" +
        "  --root DIR    the runtime's state (default /run/berth)\n" +
        "  --debug, --log FILE, --log-format text|json, --version\n",
    TakesOverRuntimeVerbs: true));
