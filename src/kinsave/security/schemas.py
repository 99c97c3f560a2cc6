from datetime import datetime

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    id: int
    actor: str
    action: str
    target: str
    details: str
    created_at: datetime


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_before_id: int | None


class RotatedKeyOut(BaseModel):
    key: str
    prefix: str
    access: str


class CounterCleanupReport(BaseModel):
    deleted: int
