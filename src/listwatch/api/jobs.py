"""Asynchronous jobs: batch screening and portfolio screening of an uploaded file.

An upload is checked at once (file type, size, readable, row limit) so that a bad file is a 4xx
answer, not a failed job; then the job waits for the one worker thread (the machine's cores
belong to /match) and reports progress while it runs. Jobs live in this process's memory; the
screening run a job stores is in the database (`/api/v1/runs/...`) like any `listwatch screen`.

    job = runner.submit("screen", owner="bot", total=120, work=lambda progress: ...)
    runner.get(job.job_id).to_dict()   # {"status": "running", "progress": {"done": 40, ...}}
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from listwatch.errors import ListwatchError
from listwatch.settings import Settings
from listwatch.store import Store

__all__ = ["Job", "JobRunner", "UnknownJob", "safe_name"]

log = logging.getLogger("listwatch.api")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Finished jobs kept in memory; the oldest are forgotten first (their runs stay in the store).
_KEEP_FINISHED = 200


class UnknownJob(ListwatchError):
    status = 404

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job {job_id!r} in this server (jobs are kept in memory until it restarts)")


def safe_name(filename: str | None, default: str = "upload") -> str:
    """An uploaded file's name reduced to a safe last path part (suffix kept)."""
    base = (filename or default).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._") or default
    return cleaned[-120:]


@dataclass
class Job:
    job_id: str
    kind: str  # screen | portfolio | rerun
    owner: str  # the key's name
    created_at: datetime
    total: int | None = None
    done: int = 0
    status: str = "queued"  # queued | running | done | failed
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    outputs: Any = None  # what the result files are written from (a run, a portfolio report)
    folder: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job_id,
            "kind": self.kind,
            "owner": self.owner,
            "status": self.status,
            "progress": {
                "done": self.done,
                "total": self.total,
                "fraction": round(self.done / self.total, 4) if self.total else None,
            },
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "error": self.error,
            "result": self.result,
        }


class JobRunner:
    def __init__(self, settings: Settings, store: Store, *, work_dir: Path) -> None:
        self.settings = settings
        self.store = store
        self.work_dir = work_dir
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="listwatch-job")

    def folder(self) -> tuple[str, Path]:
        """A new job id and its own folder for the upload and outputs."""
        job_id = secrets.token_hex(8)
        path = self.work_dir / "jobs" / job_id
        path.mkdir(parents=True, exist_ok=True)
        return job_id, path

    def submit(
        self,
        kind: str,
        *,
        job_id: str,
        folder: Path,
        owner: str,
        total: int | None,
        work: Callable[[Job], tuple[dict[str, Any], Any]],
    ) -> Job:
        """Queue `work(job)`, which returns (the JSON result, what output files are written from)."""
        job = Job(job_id, kind, owner, datetime.now(UTC), total=total, folder=folder)
        with self._lock:
            self._jobs[job_id] = job
            self._forget_old()
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], tuple[dict[str, Any], Any]]) -> None:
        job.status, job.started_at = "running", datetime.now(UTC)
        try:
            job.result, job.outputs = work(job)
        except ListwatchError as exc:
            job.status, job.error = "failed", str(exc)
        except Exception as exc:  # a job's failure is reported on the job, never lost
            log.exception("job %s failed", job.job_id)
            job.status, job.error = "failed", f"internal error: {exc.__class__.__name__}"
        else:
            job.status = "done"
            if job.total is not None:
                job.done = job.total
        finally:
            job.finished_at = datetime.now(UTC)

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(job_id)
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.finished_at is not None]
        for job in sorted(finished, key=lambda j: j.created_at)[: max(0, len(finished) - _KEEP_FINISHED)]:
            del self._jobs[job.job_id]
            if job.folder is not None:
                shutil.rmtree(job.folder, ignore_errors=True)

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until the job has finished (for tests and scripts); returns it."""
        import time

        deadline = time.monotonic() + timeout
        job = self.get(job_id)
        while job.finished_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
