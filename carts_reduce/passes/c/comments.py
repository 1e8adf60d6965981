"""Comments: never needed by a failure, so all of them usually go in one test."""

from __future__ import annotations

from carts_reduce.formats.c import Source
from carts_reduce.passes.c.common import DeletionPass, Group, of_types

_COMMENT = frozenset({"comment"})


class RemoveComments(DeletionPass):
    name = "c-comments"

    def groups(self, src: Source) -> list[Group]:
        comments = of_types(src, _COMMENT)
        return [Group(comments, all_first=True)] if comments else []
