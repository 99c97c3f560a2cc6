"""The family circle and help requests.

A help request copies its terms (helpers needed, hours, reward, daily limit) from the offer when it
starts, so an operator editing the offer later can never move the goalposts of a running request.
"""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.schema import SchemaItem

from kinsave.db import Base, BigIntId, UTCDateTime


class CircleLink(Base):
    """One direction of a relatives/friends link; every link is stored both ways."""

    __tablename__ = "circle_link"
    __table_args__ = (CheckConstraint("shopper_id <> relative_id", name="not_self"),)

    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), primary_key=True)
    relative_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), primary_key=True)
    via: Mapped[str] = mapped_column(String(32))  # what linked them first: "share", "help", ...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CircleEnvelope(Base):
    """A shopper's own envelope sent to their family circle: every relative sees it on their
    home page while it is open (relatives are read when they look, so a relative linked later
    sees it too). One row per envelope: sending again changes nothing."""

    __tablename__ = "circle_envelope"
    __table_args__ = (Index("ix_circle_envelope_sender_id_sent_at", "sender_id", "sent_at"),)

    envelope_id: Mapped[str] = mapped_column(ForeignKey("envelope.id"), primary_key=True)
    sender_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HelpOffer(Base):
    """An operator's terms: ask N people to help within T hours to unlock a reward."""

    __tablename__ = "help_offer"
    __table_args__ = (
        CheckConstraint("helpers_needed >= 1", name="helpers_needed_positive"),
        CheckConstraint("hours >= 1", name="hours_positive"),
        CheckConstraint("reward >= 1", name="reward_positive"),
        CheckConstraint("daily_help_limit >= 1", name="daily_help_limit_positive"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), index=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaign.id"), index=True)
    helpers_needed: Mapped[int] = mapped_column(Integer)
    hours: Mapped[int] = mapped_column(Integer)
    reward: Mapped[int] = mapped_column(BigInteger)
    daily_help_limit: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HelpWanted:
    """What a help request and a price cut share: a shopper asks `helpers_needed` relatives for
    help, open until the last helper or `deadline_at`, whichever comes first (expiry.py).

    The database allows one open request per shopper and offer (nobody can park a whole budget
    in escrows, nor a product's units), so the class defines `offer_id`, the offer it runs.
    """

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    requester_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), index=True)
    helpers_needed: Mapped[int] = mapped_column(Integer)
    helped: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))  # open | completed | expired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[SchemaItem, ...]:
        table = cls.__tablename__  # type: ignore[attr-defined]  # set by each mapped class
        return (
            CheckConstraint("helped >= 0 AND helped <= helpers_needed", name="helped_in_range"),
            Index(f"ix_{table}_state_deadline_at", "state", "deadline_at"),
            Index(
                f"uq_{table}_open_offer_requester",
                "offer_id",
                "requester_id",
                unique=True,
                sqlite_where=text("state = 'open'"),
                postgresql_where=text("state = 'open'"),
            ),
        )


class HelpRequest(HelpWanted, Base):
    """A shopper's help request: the helpers unlock the offer's reward, paid from its budget
    through an escrow."""

    __tablename__ = "help_request"

    offer_id: Mapped[str] = mapped_column(ForeignKey("help_offer.id"), index=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaign.id"))
    # The terms, frozen when the request starts (helpers_needed too).
    hours: Mapped[int] = mapped_column(Integer)
    reward: Mapped[int] = mapped_column(BigInteger)
    daily_help_limit: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))  # the campaign's: decides a helper's day
    budget_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    escrow_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))


class Help(Base):
    """One helper's help on one request.

    (request, helper) is unique: a helper helps a request once. (helper, local day, slot) is
    unique with slot in 1..K: a helper fills at most K slots a day, so the database itself refuses
    the K+1-th help of the day, however many requests race.
    """

    __tablename__ = "help"
    __table_args__ = (
        UniqueConstraint("request_id", "helper_id"),
        UniqueConstraint("helper_id", "local_day", "slot"),
        CheckConstraint("slot >= 1", name="slot_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("help_request.id"))
    helper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"))
    local_day: Mapped[date] = mapped_column(Date)
    slot: Mapped[int] = mapped_column(Integer)
    helped_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PriceCutOffer(Base):
    """An operator's price cut: "ask N relatives to help and buy this product at price P".

    Its schedule (how much each helper cuts, in order) is computed when the offer is made and
    copied onto every request: it never changes, and everyone sees it before helping.
    """

    __tablename__ = "price_cut_offer"
    __table_args__ = (
        CheckConstraint("helpers_needed >= 1 AND helpers_needed <= 50", name="helpers_in_range"),
        CheckConstraint("final_price >= 0 AND final_price < regular_price", name="price_cut"),
        CheckConstraint("units_taken >= 0 AND units_taken <= units", name="units_within_stock"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    regular_price: Mapped[int] = mapped_column(BigInteger)
    final_price: Mapped[int] = mapped_column(BigInteger)
    helpers_needed: Mapped[int] = mapped_column(Integer)
    hours: Mapped[int] = mapped_column(Integer)
    schedule: Mapped[list[int]] = mapped_column(JSON)  # the cut of helper 1, 2, ...
    units: Mapped[int] = mapped_column(BigInteger)  # requests that can run at once or complete
    units_taken: Mapped[int] = mapped_column(BigInteger, default=0)
    template_id: Mapped[str] = mapped_column(ForeignKey("coupon_template.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PriceCut(HelpWanted, Base):
    """One shopper's price cut request, with the offer's schedule frozen onto it."""

    __tablename__ = "price_cut"

    offer_id: Mapped[str] = mapped_column(ForeignKey("price_cut_offer.id"), index=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    regular_price: Mapped[int] = mapped_column(BigInteger)
    final_price: Mapped[int] = mapped_column(BigInteger)
    schedule: Mapped[list[int]] = mapped_column(JSON)
    coupon_id: Mapped[str | None] = mapped_column(String(40))  # the set_price entitlement


class PriceCutHelp(Base):
    """One helper's cut: the position it took and exactly the schedule's amount for it."""

    __tablename__ = "price_cut_help"
    __table_args__ = (
        UniqueConstraint("cut_id", "helper_id"),
        UniqueConstraint("cut_id", "position"),
        CheckConstraint("position >= 1", name="position_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    cut_id: Mapped[str] = mapped_column(ForeignKey("price_cut.id"))
    helper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"))
    position: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    via_share: Mapped[str | None] = mapped_column(String(40))  # the share code they came by
    helped_at: Mapped[datetime] = mapped_column(UTCDateTime)
