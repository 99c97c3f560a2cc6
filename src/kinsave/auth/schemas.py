from dataclasses import dataclass

from pydantic import BaseModel, Field


class DevLoginIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    display_name: str | None = Field(default=None, max_length=100)


class TokenOut(BaseModel):
    token: str
    shopper_id: str
    expires_in: int


@dataclass(frozen=True)
class ShopperPrincipal:
    shopper_id: str

    @property
    def scope(self) -> str:
        return f"shopper:{self.shopper_id}"


@dataclass(frozen=True)
class ShopPrincipal:
    shop_id: str
    role: str

    @property
    def scope(self) -> str:
        return f"{self.role}:{self.shop_id}"
