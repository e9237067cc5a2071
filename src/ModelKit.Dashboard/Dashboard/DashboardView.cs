using System.ComponentModel;

namespace ModelKit.Dashboard;

/// <summary>
/// What one of the dashboard's Razor components renders. Razor makes components public; what they show stays
/// internal, made by the dashboard's endpoints only.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class DashboardView
{
    internal DashboardView(string basePath, DashboardSnapshot? snapshot = null, DashboardUser? user = null, string? panel = null, string? problem = null, bool signOut = false)
    {
        BasePath = basePath;
        Snapshot = snapshot;
        User = user;
        Panel = panel;
        Problem = problem;
        SignOut = signOut;
    }

    internal string BasePath { get; }

    internal DashboardSnapshot? Snapshot { get; }

    internal DashboardUser? User { get; }

    internal string? Panel { get; }

    internal string? Problem { get; }

    internal bool SignOut { get; }
}
