"""The logging configuration `kinsave serve` hands uvicorn (applied in every worker process).

Standard-library logging, so uvicorn's, SQLAlchemy's and Alembic's records go the same way as
ours; KINSAVE_LOG_FORMAT=json renders every record as one JSON object per line
(python-json-logger), with the access line's fields as keys. docs/decisions.md ("Logs") says why.
"""

from typing import Any

from kinsave.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message"]


def log_config(settings: Settings) -> dict[str, Any]:
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        }
        if settings.log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"kinsave": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "kinsave",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "kinsave": {"level": level},
            "kinsave.access": {"level": "INFO" if settings.access_log else "WARNING"},
            # uvicorn's own access line would repeat ours without the request id.
            "uvicorn.access": {"level": "WARNING"},
            "uvicorn.error": {"level": "INFO"},
        },
    }
