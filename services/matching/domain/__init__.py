"""The matching engine: pure functions from a pool snapshot to an optimal, explained set of pairs."""
