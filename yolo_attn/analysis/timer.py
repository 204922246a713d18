"""The rotated round-robin: time several candidates in rounds, one visit each per round, the order rotated by one
each round (round r starts with candidate r). No candidate always runs first (after the previous round's last one)
and pays, or skips, the cost of a cold cache or allocator, and a load change on a shared machine hits all alike."""

from __future__ import annotations

from typing import Callable, Hashable

__all__ = ("round_robin",)


def round_robin(visits: dict[Hashable, Callable[[], float]], rounds: int) -> dict[Hashable, list[float]]:
    """Call each ``visits[key]()`` (it returns one measurement) once per round for ``rounds`` rounds, rotated.

    Returns ``{key: [measurement per round]}``, in round order.
    """
    keys = list(visits)
    out = {k: [] for k in keys}
    for r in range(rounds):
        s = r % len(keys)
        for k in keys[s:] + keys[:s]:
            out[k].append(visits[k]())
    return out
