using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace ModelKit.LocalHub.Internal;

/// <summary>The JSON endpoints: model search, model info and repository trees.</summary>
internal sealed partial class HubHandler
{
    private const int MaxPage = 1000;

    private static readonly string[] SortKeys = ["downloads", "likes", "lastModified", "createdAt", "id"];

    private async Task SearchAsync(HttpContext context)
    {
        counters.AddSearch();
        var query = context.Request.Query;
        var search = query["search"].ToString();
        var author = query["author"].ToString();
        var filters = query["filter"].SelectMany(f => (f ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        var sort = query["sort"].ToString();
        var descending = query["direction"].ToString() != "1";
        if (sort.Length > 0 && !SortKeys.Contains(sort))
        {
            await BadRequestAsync(context, $"Invalid sort '{sort}': use one of {string.Join(", ", SortKeys)}.");
            return;
        }

        var limit = MaxPage;
        var limitText = query["limit"].ToString();
        if (limitText.Length > 0 && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1))
        {
            await BadRequestAsync(context, $"Invalid limit '{limitText}': use a whole number from 1 to {MaxPage}.");
            return;
        }

        limit = Math.Min(limit, MaxPage);
        var offset = 0;
        var cursor = query["cursor"].ToString();
        if (cursor.Length > 0 && !TryReadCursor(cursor, out offset))
        {
            await BadRequestAsync(context, $"Invalid cursor '{cursor}': pass the cursor of a Link header this hub sent.");
            return;
        }

        IEnumerable<HubRepository> matches = store.OpenAll().Where(r =>
            (search.Length == 0 || r.Id.Contains(search, StringComparison.OrdinalIgnoreCase))
            && (author.Length == 0 || string.Equals(r.Owner, author, StringComparison.OrdinalIgnoreCase))
            && filters.All(f => HasTag(r, f)));
        matches = sort switch
        {
            "downloads" => Order(matches, r => r.Metadata.Downloads, descending),
            "likes" => Order(matches, r => r.Metadata.Likes, descending),
            "lastModified" => Order(matches, r => r.LastModified, descending),
            "createdAt" => Order(matches, r => r.CreatedAt, descending),
            "id" => Order(matches, r => r.Id, descending),
            _ => matches,
        };
        var all = matches.ToList();
        var page = all.Skip(offset).Take(limit).ToList();
        if (offset + page.Count < all.Count)
        {
            context.Response.Headers.Link = $"<{NextPage(context.Request, offset + page.Count)}>; rel=\"next\"";
        }

        var full = IsTrue(query["full"]);
        await WriteJsonAsync(context, writer =>
        {
            writer.WriteStartArray();
            foreach (var repository in page) WriteModel(writer, repository, siblings: full, blobs: false, config: false);
            writer.WriteEndArray();
        });
    }

    // The repository at the revision asked for, or null once the hub's error (RepoNotFound, RevisionNotFound) is written.
    private async Task<HubRepository?> OpenAtRevisionAsync(HttpContext context, string owner, string name, string revision)
    {
        var repository = store.Open(owner, name);
        if (repository is null)
        {
            await HubErrors.RepoNotFoundAsync(context, owner + "/" + name);
            return null;
        }

        if (!repository.HasRevision(revision))
        {
            await HubErrors.RevisionNotFoundAsync(context, repository, revision);
            return null;
        }

        return repository;
    }

    private async Task ModelInfoAsync(HttpContext context, string owner, string name, string revision)
    {
        counters.AddInfo();
        if (await OpenAtRevisionAsync(context, owner, name, revision) is not { } repository) return;

        var blobs = IsTrue(context.Request.Query["blobs"]);
        await WriteJsonAsync(context, writer => WriteModel(writer, repository, siblings: true, blobs, config: true));
    }

    private async Task TreeAsync(HttpContext context, string owner, string name, string revision, ReadOnlyMemory<string> pathSegments)
    {
        counters.AddTree();
        if (await OpenAtRevisionAsync(context, owner, name, revision) is not { } repository) return;

        var prefix = "";
        if (pathSegments.Length > 0 && !HubPaths.TryFilePath(pathSegments.Span, out prefix))
        {
            await HubErrors.EntryNotFoundAsync(context, repository, string.Join('/', pathSegments.ToArray()));
            return;
        }

        var directories = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in repository.Files)
        {
            for (var parent = Parent(file.Path); parent.Length > 0; parent = Parent(parent)) directories.Add(parent);
        }

        if (prefix.Length > 0 && !directories.Contains(prefix))
        {
            await HubErrors.EntryNotFoundAsync(context, repository, prefix);
            return;
        }

        var recursive = IsTrue(context.Request.Query["recursive"]);
        bool Listed(string path) => recursive
            ? prefix.Length == 0 || path.StartsWith(prefix + "/", StringComparison.Ordinal)
            : Parent(path) == prefix;
        var entries = new List<(string Path, HubFile? File)>();
        entries.AddRange(directories.Where(Listed).Select(d => (d, (HubFile?)null)));
        entries.AddRange(repository.Files.Where(f => Listed(f.Path)).Select(f => (f.Path, (HubFile?)f)));
        if (prefix.Length == 0) entries.AddRange(Phantoms(repository).Select(f => (f.Path, (HubFile?)f)));
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));

        await WriteJsonAsync(context, writer =>
        {
            writer.WriteStartArray();
            foreach (var (path, file) in entries)
            {
                writer.WriteStartObject();
                if (file is null)
                {
                    writer.WriteString("type", "directory");
                    writer.WriteString("oid", GitHashes.ListSha1(repository.Files
                        .Where(f => f.Path.StartsWith(path + "/", StringComparison.Ordinal))
                        .Select(f => (f.Path[(path.Length + 1)..], f.BlobId))));
                    writer.WriteNumber("size", 0);
                    writer.WriteString("path", path);
                }
                else
                {
                    writer.WriteString("type", "file");
                    writer.WriteString("oid", file.BlobId);
                    writer.WriteNumber("size", file.Length);
                    writer.WriteString("path", path);
                    if (file.IsLfs) WriteLfs(writer, file, "oid"); // the tree names the hash "oid"
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        });
    }

    private void WriteModel(Utf8JsonWriter writer, HubRepository repository, bool siblings, bool blobs, bool config)
    {
        var metadata = repository.Metadata;
        writer.WriteStartObject();
        writer.WriteString("_id", repository.ObjectId);
        writer.WriteString("id", repository.Id);
        writer.WriteString("modelId", repository.Id);
        writer.WriteString("author", repository.Owner);
        writer.WriteString("sha", repository.Commit);
        writer.WriteNumber("downloads", metadata.Downloads);
        writer.WriteNumber("likes", metadata.Likes);
        writer.WriteStartArray("tags");
        foreach (var tag in metadata.Tags) writer.WriteStringValue(tag);
        writer.WriteEndArray();
        if (metadata.PipelineTag is not null) writer.WriteString("pipeline_tag", metadata.PipelineTag);
        if (metadata.LibraryName is not null) writer.WriteString("library_name", metadata.LibraryName);
        writer.WriteString("createdAt", repository.CreatedAt);
        writer.WriteString("lastModified", repository.LastModified);
        writer.WriteBoolean("private", false);
        writer.WritePropertyName("gated");
        if (metadata.Gated is { } gated) gated.WriteTo(writer);
        else writer.WriteBooleanValue(false);
        if (config && ReadConfig(repository) is { } parsed)
        {
            writer.WritePropertyName("config");
            parsed.WriteTo(writer);
        }

        if (siblings)
        {
            writer.WriteStartArray("siblings");
            foreach (var file in repository.Files.Concat(Phantoms(repository)))
            {
                writer.WriteStartObject();
                writer.WriteString("rfilename", file.Path);
                if (blobs)
                {
                    writer.WriteNumber("size", file.Length);
                    writer.WriteString("blobId", file.BlobId);
                    if (file.IsLfs) WriteLfs(writer, file, "sha256"); // the model API names it "sha256"
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteNumber("usedStorage", repository.UsedStorage);
        }

        writer.WriteEndObject();
    }

    /// <summary>The names <see cref="LocalHubFaults.AddHostileSiblings"/> added, described as files without content on disk.</summary>
    private IEnumerable<HubFile> Phantoms(HubRepository repository) =>
        faults.HostileSiblingsOf(repository.Id).Select(n => HubFile.Phantom(n, store.IsLfs(n, Encoding.UTF8.GetByteCount(n))));

    private static JsonElement? ReadConfig(HubRepository repository)
    {
        if (repository.Find("config.json")?.FullPath is not { } path) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            // A config.json that is not JSON: the hub leaves "config" out.
            return null;
        }
    }

    private static bool HasTag(HubRepository repository, string filter) =>
        repository.Metadata.Tags.Contains(filter, StringComparer.OrdinalIgnoreCase)
        || string.Equals(repository.Metadata.LibraryName, filter, StringComparison.OrdinalIgnoreCase)
        || string.Equals(repository.Metadata.PipelineTag, filter, StringComparison.OrdinalIgnoreCase);

    private static IOrderedEnumerable<HubRepository> Order<TKey>(IEnumerable<HubRepository> repositories, Func<HubRepository, TKey> key, bool descending) =>
        (descending ? repositories.OrderByDescending(key) : repositories.OrderBy(key)).ThenBy(r => r.Id, StringComparer.Ordinal);

    private static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    private static bool IsTrue(StringValues value) => value.ToString() is "1" or "true" or "True";

    /// <summary>The address of the next page: this request's query with the cursor replaced, on the host the client used.</summary>
    private static string NextPage(HttpRequest request, int offset)
    {
        var parameters = request.Query.Where(p => p.Key != "cursor")
            .Append(new KeyValuePair<string, StringValues>("cursor", WriteCursor(offset)));
        return $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}{QueryString.Create(parameters)}";
    }

    private static string WriteCursor(int offset) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes("offset:" + offset.ToString(CultureInfo.InvariantCulture)));

    private static bool TryReadCursor(string cursor, out int offset)
    {
        offset = 0;
        var bytes = new byte[cursor.Length];
        if (!Convert.TryFromBase64String(cursor, bytes, out var written)) return false;
        var text = Encoding.ASCII.GetString(bytes, 0, written);
        return text.StartsWith("offset:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan("offset:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out offset);
    }

    private static Task BadRequestAsync(HttpContext context, string message) =>
        HubErrors.WriteAsync(context, StatusCodes.Status400BadRequest, null, message);

    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = buffer.WrittenCount;
        if (!HttpMethods.IsHead(context.Request.Method)) await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static void WriteLfs(System.Text.Json.Utf8JsonWriter writer, HubFile file, string hashName)
    {
        writer.WriteStartObject("lfs");
        writer.WriteString(hashName, file.Sha256);
        writer.WriteNumber("size", file.Length);
        writer.WriteNumber("pointerSize", file.PointerSize);
        writer.WriteEndObject();
    }
}
