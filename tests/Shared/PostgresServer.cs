using System.Diagnostics;
using Npgsql;

namespace ModelKit.Tests;

/// <summary>
/// A throwaway PostgreSQL server for the tests: a new cluster (initdb) in a temporary folder, listening on a free
/// loopback port, stopped and deleted on dispose. The binaries come from MODELKIT_POSTGRES_BIN, or the newest
/// /usr/lib/postgresql/*/bin (Debian's layout), or the PATH. PostgreSQL refuses to run as root, so under root the server
/// runs as the user <c>nobody</c> (through runuser) in a folder it owns.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "modelkit-pg-" + Guid.NewGuid().ToString("N"));
    private string _bin = string.Empty;
    private bool _started;
    private bool _restarting;

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>A connection string to <paramref name="database"/> as the cluster's superuser.</summary>
    public string ConnectionString(string database = "postgres") =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "modelkit", Database = database, Pooling = true }.ConnectionString;

    /// <summary>A new empty database, and a data source for it.</summary>
    public async Task<NpgsqlDataSource> CreateDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await using (var admin = NpgsqlDataSource.Create(ConnectionString()))
        {
            await using var command = admin.CreateCommand($"CREATE DATABASE {name}");
            await command.ExecuteNonQueryAsync();
        }

        return NpgsqlDataSource.Create(ConnectionString(name));
    }

    public async Task InitializeAsync()
    {
        _bin = FindBinaries();
        Directory.CreateDirectory(_root);
        if (Environment.UserName == "root") await RunAsync("chown", ["nobody", _root], asServer: false);
        await RunAsync(Path.Combine(_bin, "initdb"), ["-D", Path.Combine(_root, "data"), "-A", "trust", "-U", "modelkit", "--no-locale", "-E", "UTF8"]);
        await StartAsync();
    }

    /// <summary>Starts the server: on a free port the first time, on the same port again after <see cref="StopAsync"/>.</summary>
    public async Task StartAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            if (!_restarting && (Port == 0 || attempt > 0)) Port = LocalProcesses.FreePort(); // a restart keeps its port
            var options = $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off";
            var (code, output) = await TryRunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_root, "data"), "-o", options, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "start"]);
            if (code == 0)
            {
                _started = true;
                _restarting = false;
                return;
            }

            if (attempt == 2) throw new InvalidOperationException($"PostgreSQL did not start: {output}\n{ReadLog()}");
        }
    }

    /// <summary>Stops the server (fast shutdown: its sessions are ended) until <see cref="StartAsync"/>; clients see it down.</summary>
    public async Task StopAsync()
    {
        await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_root, "data"), "-m", "fast", "-w", "stop"]);
        _started = false;
        _restarting = true;
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_started) await TryRunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_root, "data"), "-m", "immediate", "-w", "stop"]);
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string ReadLog()
    {
        try
        {
            return File.ReadAllText(Path.Combine(_root, "server.log"));
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    private static string FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("MODELKIT_POSTGRES_BIN") is { Length: > 0 } configured) return configured;
        const string debian = "/usr/lib/postgresql";
        if (Directory.Exists(debian))
        {
            var newest = Directory.GetDirectories(debian)
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1))
                .Where(d => File.Exists(Path.Combine(d.Dir, "bin", "initdb")))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault();
            if (newest.Dir is not null) return Path.Combine(newest.Dir, "bin");
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':'))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "initdb"))) return dir;
        }

        throw new InvalidOperationException("PostgreSQL's server binaries (initdb, pg_ctl) were not found: install Debian's postgresql package or set MODELKIT_POSTGRES_BIN.");
    }

    private static async Task RunAsync(string file, string[] arguments, bool asServer = true)
    {
        var (code, output) = await TryRunAsync(file, arguments, asServer);
        if (code != 0) throw new InvalidOperationException($"{Path.GetFileName(file)} failed ({code}): {output}");
    }

    private static async Task<(int Code, string Output)> TryRunAsync(string file, string[] arguments, bool asServer = true)
    {
        var start = asServer && Environment.UserName == "root"
            ? new ProcessStartInfo("runuser", ["-u", "nobody", "--", file, .. arguments])
            : new ProcessStartInfo(file, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(file)} did not finish within 2 minutes.");
        }

        return (process.ExitCode, await output + await errors);
    }
}
