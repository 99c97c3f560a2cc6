from dataclasses import dataclass

from pydantic import BaseModel, Field


class DevLoginIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    display_name: str | None = Field(default=None, max_length=100)


class TelegramLoginIn(BaseModel):
    init_data: str = Field(
        max_length=65_536, description="Telegram.WebApp.initData, exactly as received"
    )


class WechatLoginIn(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="The code from wx.login()")


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
    access: str = "full"  # "read": the key may only look (GET), never change anything
    key_prefix: str = ""  # names the key in the audit log without revealing it

    @property
    def scope(self) -> str:
        return f"{self.role}:{self.shop_id}"


@dataclass(frozen=True)
class HostIdentity:
    """Who a shopper is on a host, as the host vouched for it at sign-in."""

    host: str  # "telegram", "wechat"
    host_user_id: str
    app_id: str | None = None
    union_id: str | None = None
