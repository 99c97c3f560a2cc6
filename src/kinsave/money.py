"""Money in the API: integer minor units (fen), said so in every money field's description."""

from typing import Annotated, Any

from pydantic import Field

FEN = "minor units (fen): 1250 is ¥12.50"

Fen = Annotated[int, Field(description=FEN)]


def fen_field(default: Any = ..., *, description: str = "", **constraints: Any) -> Any:
    """`Field(...)` for a money field: its description always names the unit (fen)."""
    text = f"{description}; {FEN}" if description else FEN
    return Field(default, description=text, **constraints)
