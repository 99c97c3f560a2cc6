"""Signing a family member into the demo store through kinsave, as a person does in Chromium:
the store's button "用亲友省钱购登录" -> the mini app (sign in there if needed) -> agree -> back in
the store, signed in. For any browser test that shops in the demo store."""

import re

from playwright.sync_api import Page, expect

SIGN_IN_WITH_KINSAVE = re.compile("用亲友省钱购登录")
AGREE = re.compile("Agree and sign in|同意并登录")


def sign_in_to_store(
    page: Page,
    store_url: str,
    user_id: str,
    display_name: str | None = None,
    *,
    next_path: str = "/cart",
) -> None:
    """Sign `user_id` into the demo store at `store_url` (e.g. `http://127.0.0.1:PORT/store`),
    then land on `next_path` of the store. The page's context must be signed out of the mini app
    or signed in there as `user_id` (the mini app links whoever is signed in)."""
    page.goto(f"{store_url}/signin?next={next_path}")
    page.get_by_role("button", name=SIGN_IN_WITH_KINSAVE).click()
    page.wait_for_url(re.compile(r"/app/(login\?|link/)"))
    if "/app/login" in page.url:
        page.get_by_label(re.compile("Your id|账号")).fill(user_id)
        page.get_by_label(re.compile("Your name|昵称")).fill(display_name or user_id)
        page.get_by_role("button", name=re.compile("Sign in|登录")).click()
        page.wait_for_url(re.compile(r"/app/link/lr_"))
    page.get_by_role("button", name=AGREE).click()
    page.wait_for_url(re.compile(re.escape(store_url + next_path) + "$"))
    expect(page.locator("#signed-in")).to_contain_text(user_id)
