"""The `kinsave` command against the same database the server would use."""

import os
import subprocess
import sys

from sqlalchemy import update

from kinsave.db import unit_of_work
from kinsave.ledger.models import Account


def kinsave(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KINSAVE_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "kinsave.cli", *args], env=env, capture_output=True, text=True
    )


class TestCli:
    def test_demo_seed_then_reconcile_is_clean(self, database_url, session_factory):
        seeded = kinsave(database_url, "demo", "--seed-only")
        assert seeded.returncode == 0, seeded.stderr
        assert "Operator key" in seeded.stdout
        result = kinsave(database_url, "reconcile")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "clean" in result.stdout

    def test_reconcile_fails_on_a_difference(self, database_url, session_factory):
        assert kinsave(database_url, "demo", "--seed-only").returncode == 0
        with unit_of_work(session_factory) as session:
            session.execute(
                update(Account).where(Account.kind == "wallet").values(balance=Account.balance + 1)
            )
        result = kinsave(database_url, "reconcile")
        assert result.returncode == 1
        assert "NOT CLEAN" in result.stdout
        with unit_of_work(session_factory) as session:
            session.execute(
                update(Account).where(Account.kind == "wallet").values(balance=Account.balance - 1)
            )

    def test_operator_create_prints_a_working_key(self, database_url, session_factory):
        result = kinsave(database_url, "operator", "create", "--shop", "Corner Shop")
        assert result.returncode == 0, result.stderr
        key = result.stdout.strip().splitlines()[-1]
        assert key.startswith("ks_op_")
        again = kinsave(database_url, "store-key", "create", "--shop", "Corner Shop")
        assert again.stdout.strip().splitlines()[-1].startswith("ks_store_")

    def test_expire_runs(self, database_url, session_factory):
        result = kinsave(database_url, "expire")
        assert result.returncode == 0 and "expired 0 envelopes" in result.stdout
