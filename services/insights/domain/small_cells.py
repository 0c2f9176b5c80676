"""No small cells (issue #19): a cut of people (by department, generation, role...) never shows a group of fewer
than k of them, nor lets one be worked out from what it does show.

Primary suppression withholds every cell of 1 to k-1 people. That alone leaks: a report also shows the total, so a
single withheld cell is the total minus the shown cells, and several withheld cells add up to a group that may
itself be small. Complementary suppression therefore withholds the smallest shown cells too, until at least two
cells are withheld and together they hold k people or more (or nothing is left to withhold). Empty cells stay
shown: "no one" singles no one out. This is the standard rule of statistical disclosure control for one
dimension (e.g. Eurostat's and the UK ONS's guidance on frequency tables); cuts across two dimensions are not
published, so no table can be differenced against another of the same report."""

from __future__ import annotations

from collections.abc import Mapping

EXPLANATION = (
    "Groups of fewer than {k} people are not shown (null), and where a total would give one away, the next "
    "smallest group is withheld with it. Averages of fewer than {k} people's ratings are withheld the same way. "
    "A program admin sets the threshold (min_group_size, 2 to 100)."
)


def protect(counts: Mapping[str, int], k: int) -> dict[str, int | None]:
    """`counts` with the cells that would single someone out replaced by None, in the same order."""
    withheld = {key for key, n in counts.items() if 0 < n < k}

    def exposed() -> bool:
        return bool(withheld) and (len(withheld) < 2 or sum(counts[key] for key in withheld) < k)

    while exposed():
        shown = sorted((n, key) for key, n in counts.items() if key not in withheld and n > 0)
        if not shown:
            break
        withheld.add(shown[0][1])
    return {key: None if key in withheld else n for key, n in counts.items()}
