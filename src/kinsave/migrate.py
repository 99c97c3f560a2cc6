"""Alembic, configured in code so that `kinsave migrate` works from an installed package."""

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from kinsave.config import Settings


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "kinsave:migrations")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s_%%(rev)s")
    return config


def upgrade_to_head(settings: Settings, engine: Engine | None = None) -> None:
    config = alembic_config(settings.database_url)
    if engine is None:
        command.upgrade(config, "head")
        return
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
