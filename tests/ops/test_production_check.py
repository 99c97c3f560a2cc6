"""`kinsave check` names every setting unsafe for production and exits 1; `kinsave serve` warns
about the same at start-up; `kinsave import-products` refuses a shop that does not exist."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from kinsave.auth.models import Shop
from kinsave.catalog.models import Product
from kinsave.cli import app as kinsave
from kinsave.config import Settings
from kinsave.db import unit_of_work
from kinsave.ops.production_check import unsafe_settings
from tests.conftest import _free_port
from tests.coupons.factories import RICE_PRODUCTS
from tests.factories import shop_key

SAFE = {"KINSAVE_TELEGRAM_BOT_TOKEN": "123456:secret"}
UNSAFE = {
    "KINSAVE_DEV_LOGIN": "1",
    "KINSAVE_WEBHOOK_ALLOW_PRIVATE_URLS": "1",
    "KINSAVE_TRUSTED_PROXIES": "*",
}


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name in [n for n in os.environ if n.startswith("KINSAVE_") and n != "KINSAVE_DATABASE_URL"]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


class TestCheck:
    def test_safe_settings_pass(self, cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
        set_env(monkeypatch, SAFE)
        result = cli.invoke(kinsave, ["check"])
        assert result.exit_code == 0, result.output
        assert "no unsafe settings found" in result.output

    def test_each_unsafe_setting_is_named(
        self, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, backend: str
    ) -> None:
        set_env(monkeypatch, {**SAFE, **UNSAFE})
        result = cli.invoke(kinsave, ["check", "--workers", "2"])
        assert result.exit_code == 1
        named = {
            line.split()[1].rstrip(":")
            for line in result.output.splitlines()
            if line.startswith("unsafe ")
        }
        expected = set(UNSAFE) | {"KINSAVE_REDIS_URL"}
        if backend == "sqlite":
            expected.add("KINSAVE_DATABASE_URL")  # SQLite with several API processes
        assert named == expected

    def test_no_redis_is_fine_for_one_process(
        self, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        set_env(monkeypatch, SAFE)
        assert cli.invoke(kinsave, ["check", "--workers", "1"]).exit_code == 0


class TestFindings:
    def test_missing_secrets(self) -> None:
        half_wechat = Settings(wechat_appid="wx123", telegram_bot_token="1:x")
        assert [f.setting for f in unsafe_settings(half_wechat)] == ["KINSAVE_WECHAT_SECRET"]
        no_sign_in = Settings()
        assert [f.setting for f in unsafe_settings(no_sign_in)] == ["KINSAVE_TELEGRAM_BOT_TOKEN"]

    def test_durability(self) -> None:
        relaxed = Settings(sqlite_synchronous="NORMAL", telegram_bot_token="1:x")
        assert [f.setting for f in unsafe_settings(relaxed)] == ["KINSAVE_SQLITE_SYNCHRONOUS"]
        postgres = Settings(
            database_url="postgresql://db/kinsave",
            sqlite_synchronous="NORMAL",
            redis_url="redis://cache",
            telegram_bot_token="1:x",
        )
        assert unsafe_settings(postgres, workers=4) == []


class TestServeWarns:
    def test_serve_warns_at_start_up(
        self, database_url: str, engine: object, tmp_path: Path
    ) -> None:
        port = _free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KINSAVE_")},
            "KINSAVE_DATABASE_URL": database_url,
            "KINSAVE_SWEEPER_ENABLED": "0",
            "KINSAVE_DEV_LOGIN": "1",
        }
        output = tmp_path / "serve.out"
        with output.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "kinsave.cli", "serve", "--no-migrate", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=out,
            )
            try:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        httpx.get(f"http://127.0.0.1:{port}/healthz")
                        break
                    except httpx.HTTPError:
                        assert time.monotonic() < deadline, "kinsave serve did not start"
                        time.sleep(0.1)
            finally:
                server.terminate()
                server.wait(timeout=20)
        assert (
            "WARNING kinsave.check unsafe for production: KINSAVE_DEV_LOGIN" in output.read_text()
        )


class TestImportProducts:
    def count(self, session_factory: sessionmaker[Session], model: type) -> int:
        with unit_of_work(session_factory) as session:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())

    def test_an_unknown_shop_is_refused_and_nothing_imported(
        self, cli: CliRunner, session_factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        shop_key(session_factory, "Corner Shop")
        products = tmp_path / "p.jsonl"
        products.write_text("".join(json.dumps(p) + "\n" for p in RICE_PRODUCTS))
        result = cli.invoke(kinsave, ["import-products", str(products), "--shop", "Corner Shp"])
        assert result.exit_code == 1
        assert "no shop named 'Corner Shp'" in result.output and "'Corner Shop'" in result.output
        assert self.count(session_factory, Shop) == 1  # no second shop from the typo
        assert self.count(session_factory, Product) == 0

    def test_an_existing_shop_imports(
        self, cli: CliRunner, session_factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        shop_key(session_factory, "Corner Shop")
        products = tmp_path / "p.jsonl"
        products.write_text("".join(json.dumps(p) + "\n" for p in RICE_PRODUCTS))
        result = cli.invoke(kinsave, ["import-products", str(products), "--shop", "Corner Shop"])
        assert result.exit_code == 0, result.output
        assert self.count(session_factory, Product) == len(RICE_PRODUCTS)
