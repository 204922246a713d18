"""Reading finished runs: compare (grouping, statistics, latency) and attention-map visualisation."""
