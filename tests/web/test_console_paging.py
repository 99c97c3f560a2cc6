"""Every console table paginates: the channel list and the funnel's by-channel table (HTTP)."""

import re

import httpx

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.sharing import channels
from kinsave.sharing.events import record_event
from kinsave.sharing.policy import BUILTIN_CHANNELS
from tests.factories import create_campaign
from tests.web.test_console import operator_key

SHOP = "Harvest Family Market"


def console(api: httpx.Client, key: str) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, cookies={"ks_operator": key})


def rows(html: str, table_id: str) -> list[str]:
    """The first cell's text of each body row of one table."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return re.findall(r"<tr[^>]*>\s*<t[dh][^>]*>(?:<a [^>]*>)?([^<]+)", body)


class TestChannelList:
    def test_pages_of_twenty_with_next_and_previous(self, api, session_factory):
        key = operator_key(session_factory)
        added = 25 - len(BUILTIN_CHANNELS)
        with unit_of_work(session_factory) as session:
            shop = auth.ensure_shop(session, SHOP)
            for number in range(added):
                channels.add_channel(session, shop.id, f"club{number:02d}")
        with console(api, key) as client:
            first = client.get("/admin/channels")
            assert first.status_code == 200
            assert len(rows(first.text, "channels")) == 20
            assert 'href="/admin/channels?offset=20" rel="next"' in first.text
            assert 'rel="prev"' not in first.text
            second = client.get("/admin/channels?offset=20")
            assert len(rows(second.text, "channels")) == 5
            assert 'rel="next"' not in second.text
            assert 'href="/admin/channels?offset=0" rel="prev"' in second.text
            every = rows(first.text, "channels") + rows(second.text, "channels")
            assert sorted(every) == sorted(
                [*BUILTIN_CHANNELS] + [f"club{n:02d}" for n in range(added)]
            )


class TestFunnelByChannel:
    def test_pages_of_twenty_channels(self, api, session_factory):
        key = operator_key(session_factory)
        campaign = create_campaign(api, {"Authorization": f"Bearer {key}"})
        with unit_of_work(session_factory) as session:
            shop = auth.ensure_shop(session, SHOP)
            for number in range(23):
                record_event(
                    session,
                    kind="share_created",
                    shop_id=shop.id,
                    campaign_id=campaign["id"],
                    channel=f"club{number:02d}",
                )
        base = f"/admin/campaigns/{campaign['id']}/funnel"
        with console(api, key) as client:
            first = client.get(base)
            assert rows(first.text, "funnel") == [f"club{n:02d}" for n in range(20)]
            assert f'href="{base}?offset=20" rel="next"' in first.text
            second = client.get(f"{base}?offset=20")
            assert rows(second.text, "funnel") == ["club20", "club21", "club22"]
            assert 'rel="next"' not in second.text
            assert 'id="funnel-chart"' in second.text  # the chart stays on every page
