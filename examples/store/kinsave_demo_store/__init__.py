"""The kinsave demo store: a separate client of kinsave's store API. See README.md."""

from kinsave_demo_store.app import create_store

__all__ = ["create_store"]
