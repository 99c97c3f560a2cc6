"""`kinsave backup PATH`: a consistent copy of the database while the server keeps writing.

SQLite: SQLite's online backup API (`sqlite3.Connection.backup`), a few hundred pages at a time, so
writers wait only for one step, never for the whole copy; the copy is one consistent snapshot (a
step that sees a write restarts the copy). PostgreSQL: `pg_dump --format=custom` (a snapshot in one
transaction; restore with `pg_restore`), when pg_dump is on PATH; point-in-time recovery (WAL
archiving) is the server's business, see docs/operations.md.
"""

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from kinsave.config import Settings

PAGES_PER_STEP = 256  # 1 MiB with 4 KiB pages: writers wait at most one step

Progress = Callable[[int, int], None]  # (pages copied, pages in all)


class BackupError(Exception):
    """The backup cannot be taken; the message says why and what to do instead."""


def backup_database(settings: Settings, target: Path, progress: Progress) -> str:
    """Copy the configured database to `target` (which must not exist yet); returns what was
    done, in words."""
    if target.exists():
        raise BackupError(f"{target} exists already; back up to a new file")
    url = make_url(settings.database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise BackupError("an in-memory SQLite database has nothing on disk to back up")
        backup_sqlite(Path(url.database), target, progress)
        return f"SQLite backup of {url.database} written to {target}"
    if backend == "postgresql":
        dump_postgresql(settings.database_url, target)
        return f"pg_dump (custom format) of {url.database} written to {target}"
    raise BackupError(f"no backup for the {backend} backend")


def backup_sqlite(source_path: Path, target: Path, progress: Progress) -> None:
    """SQLite's online backup: a consistent copy even while other processes write."""
    if not source_path.exists():
        raise BackupError(f"no SQLite database at {source_path}")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(
            copy,
            pages=PAGES_PER_STEP,
            progress=lambda _status, remaining, total: progress(total - remaining, total),
        )
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    except sqlite3.Error as error:
        copy.close()
        target.unlink(missing_ok=True)
        raise BackupError(f"SQLite backup failed: {error}") from error
    finally:
        source.close()
    copy.close()


def dump_postgresql(database_url: str, target: Path) -> None:
    """pg_dump in its custom format (restore with pg_restore). The password travels in the
    environment (PGPASSWORD), not on the command line other users can read."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump is not on PATH: install the PostgreSQL client (the same major version as "
            "the server) or run pg_dump --format=custom yourself; see docs/operations.md"
        )
    url = make_url(database_url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={plain}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
