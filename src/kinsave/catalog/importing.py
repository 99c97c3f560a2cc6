"""Reading a product file (CSV with a header row, or JSON lines) into validated products. Pure.

A file is written by people, so its `price` is in yuan ("12.50", 12.5 or 12): it becomes integer
fen exactly (read as text or Decimal, never a float); more than 2 decimals is refused. The API's
`ProductIn.price` stays in fen.
"""

import csv
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kinsave.catalog.schemas import ProductIn

_TRUE = {"1", "true", "yes", "y", "t"}
_YUAN = re.compile(r"^\s*(\d{1,10})(?:\.(\d{1,2}))?\s*$")


class ProductFileError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def yuan_to_fen(value: object) -> int:
    """'12.50' (or Decimal('12.50'), or 12) yuan -> 1250 fen exactly; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError("price: yuan as a number, like 12.50")
    match = _YUAN.match(str(value))
    if not match:
        raise ValueError(f"price: {value} is not yuan with at most 2 decimals, like 12.50")
    return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))


def _row_to_product(row: dict[str, Any], line: int) -> ProductIn:
    if "price" in row:
        try:
            row["price"] = yuan_to_fen(row["price"])
        except ValueError as error:
            raise ProductFileError(line, str(error)) from error
    if isinstance(row.get("in_stock"), str):
        row["in_stock"] = row["in_stock"].strip().lower() in _TRUE
    if row.get("image_url") == "":
        row["image_url"] = None
    try:
        return ProductIn.model_validate(row)
    except ValidationError as error:
        raise ProductFileError(line, str(error).splitlines()[0]) from error


def read_products(path: Path) -> Iterator[ProductIn]:
    """Products in file order. `.csv` is CSV; anything else is one JSON object per line."""
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix.lower() == ".csv":
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield _row_to_product(dict(row), number)
            return
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as error:
                raise ProductFileError(number, f"not JSON: {error.msg}") from error
            if not isinstance(row, dict):
                raise ProductFileError(number, "each line must be a JSON object")
            yield _row_to_product(row, number)


def count_rows(path: Path) -> int:
    """Rows to import (for a progress bar)."""
    with path.open(encoding="utf-8") as handle:
        rows = sum(1 for text in handle if text.strip())
    return rows - 1 if path.suffix.lower() == ".csv" and rows else rows


def read_batches(path: Path, size: int) -> Iterator[list[ProductIn]]:
    """The file's products in lists of at most `size` (one transaction each when importing)."""
    chunk: list[ProductIn] = []
    for product in read_products(path):
        chunk.append(product)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
