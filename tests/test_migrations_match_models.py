"""The migrations build exactly the tables the models describe (Alembic's autogenerate finds
nothing to do at head), on SQLite and PostgreSQL alike, so a model refactored without a migration,
or a migration that forgets a model change, fails here and not in production."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect
from sqlalchemy.engine import Engine

from kinsave.models import Base


class TestMigrationsMatchModels:
    def test_autogenerate_finds_no_difference(self, engine: Engine) -> None:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, Base.metadata)
        assert differences == []

    def test_check_constraints_match(self, engine: Engine) -> None:
        # Autogenerate does not compare CHECK constraints: compare their names here.
        inspector = inspect(engine)
        for name, table in Base.metadata.tables.items():
            in_models = {
                str(constraint.name)
                for constraint in table.constraints
                if isinstance(constraint, CheckConstraint) and constraint.name
            }
            in_database = {check["name"] for check in inspector.get_check_constraints(name)}
            assert in_database == in_models, name
