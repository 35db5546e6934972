using Berth.Cli;
using Berth.Images;
using Berth.Images.Registry;
using Berth.Linux;
using Berth.Serve;
using Berth.Serve.Auth;
using Berth.Serve.Http;
using Berth.Serve.Jobs;
using Berth.Serve.Metrics;
using Berth.Serve.Storage;
using Berth.Supply.Policy;

// berth-serve: the scanning and signing service (issue 18). `berth serve ARGS` execs this binary.
const string Usage = "usage: berth serve --listen ADDR:PORT --data DIR --policy FILE [--database postgres://…] [--tls-cert F --tls-key F] [--client-ca F] " +
    "[--tls-verify=false] [--workers N] [--tokens FILE] [--key-file F] [--db DIR] [--pull-policy FILE | --insecure-pull-policy]";

void Log(string line) => Console.Error.WriteLine(line);

try
{
    var cl = CommandLine.Parse(args, new Flag[]
    {
        new("listen", null, true), new("data", null, true), new("policy", null, true), new("database", null, true), new("tls-cert", null, true),
        new("tls-key", null, true), new("client-ca", null, true), new("tls-verify"), new("workers", null, true), new("tokens", null, true),
        new("key-file", null, true), new("db", null, true), new("pull-policy", null, true), new("insecure-pull-policy"), new("help", 'h'),
    }, stopAtPositional: false);
    if (cl.Has("help")) { Console.Out.WriteLine(Usage); return 0; }
    if (cl.Positional.Count > 0) throw new UsageException($"unexpected argument \"{cl.Positional[0]}\"");
    var data = cl.Value("data") ?? throw new UsageException("--data DIR is required");
    FileSystem.CreateDirectory(data, 0x1c0 /* 0700 */);
    var options = new ServeOptions
    {
        Listen = cl.Value("listen") ?? throw new UsageException("--listen ADDR:PORT is required"),
        DataDir = data,
        PolicyPath = cl.Value("policy") ?? throw new UsageException("--policy FILE is required"),
        Database = cl.Value("database"),
        TlsCert = cl.Value("tls-cert"), TlsKey = cl.Value("tls-key"), ClientCa = cl.Value("client-ca"),
        TlsVerify = cl.Value("tls-verify") != "false",
        Workers = cl.Value("workers") is { } n ? int.TryParse(n, out var w) && w >= 0 && w <= 256 ? w : throw new UsageException($"--workers: \"{n}\" is not a number 0-256") : Environment.ProcessorCount,
        TokensPath = cl.Value("tokens"),
        KeyFile = cl.Value("key-file") ?? Path.Combine(data, "findings.key"),
        VulnDb = cl.Value("db") ?? Berth.Supply.Vulnerabilities.OsvDatabase.DefaultDirectory,
        PullPolicy = cl.Value("pull-policy"),
        InsecurePullPolicy = cl.Has("insecure-pull-policy"),
    };
    var tokens = TokenTable.Load(options.TokensPath, Environment.GetEnvironmentVariable("BERTH_SERVE_TOKEN"));
    if (tokens.Count == 0) throw new ServeException(0, "no principals: set BERTH_SERVE_TOKEN or give --tokens FILE (the API never runs open)");

    var cipher = FindingsCipher.FromKeyFile(options.KeyFile, Log);
    await using IServeStore store = options.Database is { } url
        ? await PostgresStore.OpenAsync(url, cipher)
        : await SqliteStore.OpenAsync(Path.Combine(data, "berth-serve.db"), cipher);

    var registries = new RegistrySettings { TlsVerify = options.TlsVerify ? null : false };
    var images = new ImageService(Path.Combine(data, "images"), registries);
    var gate = ImagePolicy.FromFlags(options.PullPolicy, options.InsecurePullPolicy, null, images.Transports, Environment.GetEnvironmentVariable("HOME"), new SigstoreSignatures());
    var metrics = new ServeMetrics();
    var readiness = new Readiness();
    using var berth = new BerthScanner(images, options.VulnDb);
    var scans = new ScanService(store, new ImagePuller(images, gate), berth, options.Workers, metrics, Log);
    var ctx = new ServeContext { Options = options, Store = store, Metrics = metrics, Readiness = readiness, Images = images, Scans = scans, BerthScanner = berth, Log = Log };

    metrics.Gauge("berth_serve_queue_depth", "Scan jobs queued, not yet running.", () => store.QueueDepthAsync().GetAwaiter().GetResult());
    metrics.Gauge("berth_serve_scans_running", "Scan jobs running now.", () => scans.Running);
    metrics.Gauge("berth_serve_workers", "The size of the worker pool (--workers).", () => scans.Workers);
    readiness.Set("storage", true, $"{store.Kind}, schema version {store.SchemaVersion}");
    readiness.Set("workers", true, $"{options.Workers} workers");
    try { readiness.Set("vulnerability-database", true, berth.DatabaseVersion()); }
    catch (ServeException e) { readiness.Set("vulnerability-database", false, e.Message); }

    var routes = new Routes();
    var modules = Modules.All(ctx);
    using var stopping = new CancellationTokenSource();
    foreach (var m in modules) await m.StartAsync(ctx, stopping.Token);
    CoreEndpoints.Map(routes, ctx, () => routes.All);
    foreach (var m in modules) m.MapRoutes(routes);

    var app = ServiceHost.Build(ctx, routes, new Authenticator(tokens));
    app.Lifetime.ApplicationStopping.Register(stopping.Cancel);
    await scans.StartAsync(stopping.Token);
    await app.RunAsync();
    stopping.Cancel();
    await scans.StoppedAsync();
    return 0;
}
catch (UsageException e)
{
    Log($"berth: serve: {e.Message}\n{Usage}");
    return 2;
}
catch (Exception e) when (e is ServeException or LinuxException or ImageException or Berth.Supply.SupplyException or Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException
    or System.Security.Cryptography.CryptographicException or IOException)
{
    Log($"berth: serve: {e.Message.Replace('\n', ' ')}");
    return 1;
}
