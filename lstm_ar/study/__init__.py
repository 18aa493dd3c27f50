"""Running studies over many seeds: scenarios, experiments, sweeps sharded over devices and
processes, the chunk store, statistics, claims, reports and figures."""
