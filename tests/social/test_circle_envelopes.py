"""Sending an envelope straight to the family circle: every relative sees it (GET
/v1/circle/envelopes, and their home page) while it is open, and grabs it the usual way."""

from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kinsave.db import unit_of_work
from kinsave.social import service as social
from tests.factories import (
    Headers,
    create_campaign,
    error_code,
    funded_shopper,
    login,
    shop_key,
    wallet_balance,
)


def _relatives(factory: sessionmaker[Session], a: str, *others: str) -> None:
    with unit_of_work(factory) as session:
        for other in others:
            social.link_relatives(session, a, other, via="share")


def _envelope(api: httpx.Client, sender: Headers, shares: int = 2) -> dict[str, Any]:
    body = {"total": 600, "shares": shares, "message": "全家福"}
    response = api.post("/v1/envelopes", json=body, headers=sender)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _send(api: httpx.Client, sender: Headers, envelope_id: str) -> httpx.Response:
    return api.post("/v1/circle/envelopes", json={"envelope_id": envelope_id}, headers=sender)


def _seen_by(api: httpx.Client, member: Headers) -> list[dict[str, Any]]:
    response = api.get("/v1/circle/envelopes", headers=member)
    assert response.status_code == 200, response.text
    envelopes: list[dict[str, Any]] = response.json()["envelopes"]
    return envelopes


def _family(api: httpx.Client, factory: sessionmaker[Session]) -> tuple[Headers, ...]:
    operator = shop_key(factory)
    campaign = create_campaign(api, operator)
    grandma = funded_shopper(api, operator, campaign["id"], "grandma", 5_000)
    mum, grandson, stranger = (login(api, who) for who in ("mum", "grandson", "stranger"))
    _relatives(factory, "grandma", "mum", "grandson")
    return grandma, mum, grandson, stranger


class TestSendToCircle:
    def test_relatives_see_it_and_grab_it(self, api, session_factory):
        grandma, mum, grandson, stranger = _family(api, session_factory)
        envelope = _envelope(api, grandma)
        sent = _send(api, grandma, envelope["id"])
        assert sent.status_code == 201, sent.text
        assert sent.json()["relatives"] == 2
        (seen,) = _seen_by(api, mum)
        assert seen["envelope_id"] == envelope["id"] and seen["sender_name"] == "grandma"
        assert (seen["message"], seen["remaining_shares"], seen["my_amount"]) == ("全家福", 2, None)
        assert _seen_by(api, stranger) == [] and _seen_by(api, grandma) == []

        grab = api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=mum)
        assert grab.status_code == 200, grab.text
        (after,) = _seen_by(api, mum)
        assert after["my_amount"] == grab.json()["amount"] == wallet_balance(api, mum)
        assert _seen_by(api, grandson)[0]["remaining_shares"] == 1

    def test_sending_again_changes_nothing(self, api, session_factory):
        grandma, mum, _, _ = _family(api, session_factory)
        envelope = _envelope(api, grandma)
        first = _send(api, grandma, envelope["id"]).json()
        again = _send(api, grandma, envelope["id"])
        assert again.status_code == 201 and again.json() == first
        assert len(_seen_by(api, mum)) == 1

    def test_only_the_sender_may_send_it(self, api, session_factory):
        grandma, mum, _, _ = _family(api, session_factory)
        envelope = _envelope(api, grandma)
        refused = _send(api, mum, envelope["id"])
        assert refused.status_code == 404 and error_code(refused) == "not_found"
        assert _seen_by(api, mum) == [] and _seen_by(api, grandma) == []
        assert error_code(_send(api, grandma, "env_doesnotexist")) == "not_found"

    def test_an_emptied_envelope_leaves_the_home_pages(self, api, session_factory):
        grandma, mum, grandson, _ = _family(api, session_factory)
        envelope = _envelope(api, grandma, shares=1)
        assert _send(api, grandma, envelope["id"]).status_code == 201
        assert api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=mum).status_code == 200
        assert _seen_by(api, grandson) == []  # nothing left for him
        assert _seen_by(api, mum)[0]["my_amount"] == 600  # she still sees what she got
        late = _send(api, grandma, envelope["id"])
        assert late.status_code == 201  # already in the circle: the first send stands
        other = _envelope(api, grandma, shares=1)
        assert api.post(f"/v1/envelopes/{other['id']}/grab", headers=mum).status_code == 200
        empty = _send(api, grandma, other["id"])
        assert empty.status_code == 409 and error_code(empty) == "envelope_empty"
