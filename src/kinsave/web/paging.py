"""One page of an in-memory list for the console's tables. Pure: no database, no web.

Lists that the services already page in SQL (campaigns, envelopes) carry their own
`next_offset`; short per-shop lists (channels, coupon templates, webhook endpoints, funnel rows)
are read whole and cut here, so every table feeds the same `_pager.html` macro.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

PAGE = 20
Item = TypeVar("Item")


@dataclass(frozen=True)
class ListPage(Generic[Item]):
    items: list[Item]
    offset: int
    limit: int
    next_offset: int | None  # None on the last page: the pager shows no "Next"


def page_of(items: Sequence[Item], offset: int, limit: int = PAGE) -> ListPage[Item]:
    """The `limit` items from `offset` (a negative offset, from a hand-edited URL, reads as 0)."""
    start = max(offset, 0)
    end = start + limit
    return ListPage(
        items=list(items[start:end]),
        offset=start,
        limit=limit,
        next_offset=end if end < len(items) else None,
    )
