"""Headless notebooks: `orc notebook` (papermill), deferred approvals, `orc batch` (sweeps on Dask).

    nbfile.py    a notebook file read and checked for the shape papermill needs (one line when not)
    params.py    the notebook's `parameters` cell: names, defaults, typed `-p` / `-f` / grid values
    grid.py      a sweep file -> parameter sets (cartesian products and explicit lists)
    execute.py   one notebook through papermill with the kernel's env set; its outcome
    records.py   `notebook_runs` / `batches` rows, pipeline runs of a notebook run, exit status
    watch.py     live step lines for the runs a notebook makes (tails the store's journals)
    ship.py      a worker's temporary store -> records sent back -> merged into the main store once
    worker.py    the task a Dask worker runs for one sweep item
    sweep.py     the client: LocalCluster or a scheduler address, live summary, final table
    recover.py   a batch whose `orc batch` died: its attempts taken in, `orc batch --resume`

Nothing here is imported by the core; papermill and dask are imported only when used.
"""
