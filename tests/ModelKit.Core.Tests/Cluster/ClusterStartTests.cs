namespace ModelKit.Tests.Cluster;

/// <summary>
/// A node starting while the membership database cannot be reached: it waits for it (and joins once it is back), or,
/// past <see cref="ModelKitClusterOptions.DatabaseWaitTimeout"/>, its start fails with a message that says why.
/// </summary>
public sealed class ClusterStartTests(PostgresServer database) : IClassFixture<PostgresServer>
{
    private async Task<string> NewDatabaseAsync()
    {
        await using var source = await database.CreateDatabaseAsync();
        return source.ConnectionString;
    }

    [Fact]
    public async Task DatabaseDownAtStart_TheNodeWaits_AndJoinsOnceItIsBack()
    {
        using var dir = new TempDirectory();
        var connectionString = await NewDatabaseAsync();
        await database.StopAsync();
        Task<ClusterNode> starting;
        try
        {
            starting = ClusterNode.StartAsync(connectionString, "start-" + Guid.NewGuid().ToString("N")[..8], dir.Path, maxModels: 2);
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(starting.IsCompleted, "the node finished starting without its membership database");
        }
        finally
        {
            await database.StartAsync();
        }

        await using var node = await starting.WaitAsync(TimeSpan.FromSeconds(60));
        await node.WaitForActiveMembersAsync(1);
    }

    [Fact]
    public async Task DatabaseDownPastTheWait_TheStartFails_SayingWhy()
    {
        using var dir = new TempDirectory();
        var connectionString = await NewDatabaseAsync();
        await database.StopAsync();
        try
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(() => ClusterNode.StartAsync(
                connectionString, "late-" + Guid.NewGuid().ToString("N")[..8], dir.Path, maxModels: 2, o => o.DatabaseWaitTimeout = TimeSpan.FromSeconds(3)));
            Assert.Contains("The cluster's membership database could not be reached within 3 s; this node cannot join.", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            await database.StartAsync();
        }
    }
}
