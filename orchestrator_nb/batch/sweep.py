"""The client side of `orc batch`: one code path for a laptop and a cluster.

Without an address the work goes to an in-process Dask ``LocalCluster`` (N worker processes,
one thread each); with ``--cluster tcp://host:8786`` the same tasks go to that scheduler.
Every item is first recorded as `queued`; each result is merged into the store as it arrives
(``ship.apply``: once per attempt); an item whose workers keep dying ends `failed` with the
reason. Dask reschedules the task of a worker that died, and at the end ``ship.salvage``
collects what such dead attempts recorded, so nothing is lost and nothing counted twice.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field

from . import records, ship
from .recover import take, take_in, take_result


@dataclass
class Sweep:
    input_path: str
    items: list[dict]
    workers: int | None = None
    cluster: str | None = None
    output: str | None = None          # path template (paths.render)
    approval: str | None = None
    kernel: str | None = None
    timeout: float | None = None
    retries: int = 1                   # extra tries for an item whose task raised (not for a failed notebook)
    grid_path: str | None = None
    env: dict = field(default_factory=dict)
    resume: str | None = None          # a batch id: run its unfinished items again (``rows``, stored)
    rows: list[dict] | None = None     # with ``resume``: the items' `notebook_runs` rows, in ``items`` order


class SweepRunner:
    def __init__(self, store, sweep: Sweep, say=None, out=None):
        self.store, self.sweep = store, sweep
        self.say = say or (lambda line: print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True))
        self.out = out or sys.stdout
        self.batch_id = None
        self.done: dict[int, dict] = {}
        self.applied: set[str] = set()
        self.started = None

    # the whole sweep ------------------------------------------------------------------------
    def run(self) -> list[dict]:
        sw, store = self.sweep, self.store
        self.batch_id = batch_id = sw.resume or records.new_id()
        tasks = self._tasks(batch_id)
        where = (f"the Dask cluster at {sw.cluster}" if sw.cluster
                 else f"a local Dask cluster of {sw.workers} worker processes")
        what = (f"{len(tasks)} unfinished item{'s' * (len(tasks) != 1)} again" if sw.resume
                else f"{len(tasks)} items")
        self.say(f"batch {batch_id}: {what} of {sw.input_path} on {where}")
        client, cluster = self._connect()          # before any record: a wrong address leaves no trace
        status = "failed"
        try:
            with store.connect():
                if sw.resume:
                    records.restart_batch(store, batch_id, [t["nb_run_id"] for t in tasks], workers=sw.workers,
                                          cluster=sw.cluster)
                else:
                    records.start_batch(store, batch_id, input_path=os.path.abspath(sw.input_path),
                                        grid_path=sw.grid_path, items=len(tasks), workers=sw.workers,
                                        cluster=sw.cluster)
                    for t in tasks:
                        records.start(store, t["nb_run_id"], input_path=t["record_path"],
                                      output_path=t["output_path"], parameters=t["parameters"], kernel=sw.kernel,
                                      cwd=t["cwd"], status="queued", batch_id=batch_id, item_index=t["index"])
                # what `orc batch --resume` runs the unfinished items with
                records.save_options(store, batch_id, {"approval": sw.approval, "timeout": sw.timeout,
                                                       "retries": sw.retries, "kernel": sw.kernel})
            self.started = time.time()
            self._collect(client, tasks)
            self._salvage(client)
            status = "done"
        except KeyboardInterrupt:
            status = "cancelled"
            raise
        finally:
            self._close(client, cluster, tasks, status)
        return records.batch_items(store, batch_id)

    def _tasks(self, batch_id: str) -> list[dict]:
        from .paths import render
        sw = self.sweep
        with open(sw.input_path, encoding="utf-8") as f:
            text = f.read()
        cwd = os.path.dirname(os.path.abspath(sw.input_path))
        tasks = []
        for i, params in enumerate(sw.items):
            row = sw.rows[i] if sw.rows else None          # resumed: the item keeps its id, number and output
            if row is not None:
                i, nb_run_id, out = row["item_index"], row["nb_run_id"], row["output_path"]
            else:
                nb_run_id = records.new_id()
                out = render(sw.output, store=self.store, nb_run_id=nb_run_id, input_path=sw.input_path,
                             parameters=params, batch_id=batch_id, item_index=i, option="--out")
            tasks.append({"index": i, "batch_id": batch_id, "nb_run_id": nb_run_id, "parameters": params,
                          "resumes": (row.get("resumes") or 0) + 1 if row is not None else 0,
                          "notebook": text, "notebook_name": os.path.basename(sw.input_path),
                          "record_path": os.path.abspath(sw.input_path), "cwd": cwd,
                          "output_path": os.path.abspath(out), "kernel": sw.kernel, "approval": sw.approval,
                          "timeout": sw.timeout, "cache_dir": str(self.store.cache_dir), "env": sw.env})
        return tasks

    def _connect(self):
        from distributed import Client, LocalCluster
        sw = self.sweep
        if sw.cluster:
            try:
                return Client(sw.cluster, timeout="30s"), None
            except (OSError, TimeoutError) as e:
                from ..errors import UsageError
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise UsageError(f"--cluster {sw.cluster}: cannot reach the Dask scheduler ({first}); "
                                 "is `dask scheduler` running there?") from None
        import dask
        # a killed worker's nanny starts a new one; on a busy machine that can take longer than the
        # 15 s after which LocalCluster gives up on the worker and shrinks (so items would wait)
        dask.config.set({"distributed.deploy.lost-worker-timeout": "300s"})
        cluster = LocalCluster(n_workers=sw.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        return Client(cluster), cluster

    # results as they come -------------------------------------------------------------------
    def _collect(self, client, tasks: list[dict]) -> None:
        from distributed import wait
        from .worker import run_item
        futures = {client.submit(run_item, t, key=f"orc-item-{t['batch_id']}-{t['index']}", pure=False,
                                 retries=self.sweep.retries): t for t in tasks}
        pending = set(futures)
        last = 0.0
        while pending:
            try:
                done, pending = wait(pending, timeout=5, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for fut in done:
                task = futures[fut]
                res = self._take(fut, task)
                took = f" in {res['duration_s']:.1f}s" if res.get("duration_s") else ""
                self.say(f"item {task['index']} {res['status']}{took} · " + self._summary(client, len(tasks)))
            if not done and time.monotonic() - last > 10:
                self.say(self._summary(client, len(tasks)))
            if done:
                last = time.monotonic()

    def _take(self, fut, task: dict) -> dict:
        try:
            res = fut.result()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # the task failed: its workers died (KilledWorker), it raised, it was lost
            name = type(e).__name__
            why = ("its worker died again and again (KilledWorker)" if name == "KilledWorker"
                   else f"{name}: {str(e).splitlines()[0] if str(e) else ''}")
            records.finish(self.store, task["nb_run_id"], status="failed", exit_code=1, duration_s=None,
                           error=f"the item could not run: {why}")
            self.done[task["index"]] = {"status": "failed", "cost_usd": 0.0, "duration_s": None}
            return self.done[task["index"]]
        finally:
            fut.release()
        take_result(self.store, res, task)
        self.applied.add(res["attempt_id"])
        self.done[task["index"]] = {k: res.get(k) for k in ("status", "cost_usd", "duration_s")}  # not the bytes
        return self.done[task["index"]]

    def _summary(self, client, total: int) -> str:
        """`5/12 done · 4 succeeded · 1 failed · 0 waiting · 3 running · $0.0123 · 45s`"""
        counts: dict[str, int] = {}
        for r in self.done.values():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        try:  # a worker holds more tasks than it has threads; only `nthreads` of them run
            threads = client.nthreads()
            running = sum(min(len(keys), threads.get(w, 1)) for w, keys in client.processing().items())
        except Exception:
            running = 0
        cost = sum(r.get("cost_usd") or 0 for r in self.done.values())
        took = time.time() - self.started
        other = sum(n for s, n in counts.items() if s not in ("succeeded", "failed", "waiting"))
        return (f"{len(self.done)}/{total} done · {counts.get('succeeded', 0)} succeeded"
                f" · {counts.get('failed', 0)} failed · {counts.get('waiting', 0)} waiting"
                + (f" · {other} other" if other else "")
                + f" · {running} running · ${cost:.4f} · {took:.0f}s")

    # the end --------------------------------------------------------------------------------
    def _salvage(self, client) -> None:
        """Collect what dead attempts recorded, once per worker host."""
        hosts: dict[str, str] = {}
        for addr, info in client.scheduler_info(n_workers=-1)["workers"].items():
            hosts.setdefault(info.get("host") or addr, addr)
        if not hosts:
            return
        found = client.run(ship.salvage, self.batch_id, set(self.applied), workers=list(hosts.values()))
        n = 0
        for bundles in found.values():
            for b in bundles:
                if take(self.store, b, self.batch_id):
                    self.applied.add(b["attempt_id"])
                    n += 1
        if n:
            self.say(f"recorded {n} attempt{'s' * (n != 1)} of items whose worker died (their runs show as failed)")
        client.run(ship.cleanup, self.batch_id, workers=list(hosts.values()))

    def _close(self, client, cluster, tasks, status: str) -> None:
        for t in tasks:  # anything not finished (interrupted, or the cluster went away)
            if t["index"] not in self.done:
                records.finish(self.store, t["nb_run_id"], status="cancelled" if status == "cancelled" else "failed",
                               exit_code=130 if status == "cancelled" else 1, duration_s=None,
                               error="the batch stopped before this item finished")
        for closer in (client, cluster):
            if closer is not None:
                try:
                    closer.close()
                except Exception:
                    pass
        if not self.sweep.cluster:
            if status != "done":  # interrupted: what the local workers' attempts recorded is kept too
                take_in(self.store, self.batch_id, self.applied)
            ship.cleanup(self.batch_id)
        records.finish_batch(self.store, self.batch_id, status)
