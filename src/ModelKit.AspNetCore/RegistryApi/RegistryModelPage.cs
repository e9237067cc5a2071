namespace ModelKit.AspNetCore;

/// <summary>Seed 002's list <c>data</c>: the items and the pagination.</summary>
internal sealed record RegistryModelPage(IReadOnlyList<RegistryModel> Items, RegistryPagination Pagination);

/// <summary>Seed 002's <c>pagination</c>, with the <c>offset</c> the page starts at.</summary>
internal sealed record RegistryPagination(int Page, int PageSize, int Total, int TotalPages, int Offset);
