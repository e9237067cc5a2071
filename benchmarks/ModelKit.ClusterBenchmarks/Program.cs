// ModelKit's cluster measurements (docs/benchmarks.md, "Scale-out"); benchmarks/cluster/run.sh starts the PostgreSQL
// server they need and calls:
//   ModelKit.ClusterBenchmarks <connection string> [requests per point, default 5000] [models per node's cache, default 4]
using System.Globalization;
using ModelKit.ClusterBenchmarks;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: ModelKit.ClusterBenchmarks <PostgreSQL connection string> [requests] [budget]");
    return 2;
}

var requests = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5000;
var budget = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 4;
return await ClusterDriver.RunAsync(args[0], requests, budget);
