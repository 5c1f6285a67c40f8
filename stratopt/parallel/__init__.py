"""One execution layer for every fan-out: serial in-process by default, Dask when asked."""
