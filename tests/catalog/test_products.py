import json

from typer.testing import CliRunner

from kinsave.catalog.importing import ProductFileError, read_products
from kinsave.cli import app as cli
from kinsave.config import get_settings
from tests.coupons.factories import RICE_PRODUCTS, push_products
from tests.factories import login, shop_key


class TestPushProducts:
    def test_upsert_then_read_as_operator_and_shopper(self, api, session_factory):
        store = shop_key(session_factory, role="store")
        operator = shop_key(session_factory)
        push_products(api, store, RICE_PRODUCTS)
        changed = {**RICE_PRODUCTS[0], "price": 5500, "in_stock": False}
        push_products(api, store, [changed])  # the same sku again updates it
        listed = api.get("/v1/admin/products", headers=operator).json()
        assert listed["total"] == 3
        rice = api.get("/v1/admin/products/rice-5kg", headers=operator).json()
        assert (rice["price"], rice["in_stock"]) == (5500, False)
        shopper = login(api, "grandma")
        seen = api.get("/v1/products", params={"shop_id": rice["shop_id"]}, headers=shopper)
        assert [p["sku"] for p in seen.json()["products"]] == ["oil-1l", "rice-10kg"]

    def test_other_shop_cannot_see(self, api, session_factory):
        push_products(api, shop_key(session_factory, role="store"), RICE_PRODUCTS)
        other = shop_key(session_factory, shop="Other Shop")
        assert api.get("/v1/admin/products/rice-5kg", headers=other).status_code == 404

    def test_negative_price_refused(self, api, session_factory):
        store = shop_key(session_factory, role="store")
        bad = api.put(
            "/v1/store/products",
            json={"products": [{**RICE_PRODUCTS[0], "price": -1}]},
            headers=store,
        )
        assert bad.status_code == 422
        assert api.get("/v1/store/products", headers=store).json()["total"] == 0


class TestImportFile:
    def test_csv_and_json_lines(self, tmp_path):
        csv_file = tmp_path / "p.csv"
        csv_file.write_text("sku,title,price,category,image_url,in_stock\na,A,12.50,rice,,yes\n")
        jsonl = tmp_path / "p.jsonl"
        jsonl.write_text(json.dumps({**RICE_PRODUCTS[1], "price": 109}) + "\n\n")
        assert [(p.sku, p.price) for p in read_products(csv_file)] == [("a", 1250)]
        assert [p.price for p in read_products(jsonl)] == [10900]

    def test_prices_in_yuan_exactly(self, tmp_path):
        jsonl = tmp_path / "p.jsonl"
        rows = [{**RICE_PRODUCTS[0], "price": price} for price in ("0.1", "12.5")]
        lines = [json.dumps(row) for row in rows] + [
            '{"sku": "c", "title": "C", "price": 19.99, "category": "rice"}'
        ]
        jsonl.write_text("\n".join(lines) + "\n")
        assert [p.price for p in read_products(jsonl)] == [10, 1250, 1999]

    def test_more_than_two_decimals_refused(self, tmp_path):
        csv_file = tmp_path / "p.csv"
        csv_file.write_text("sku,title,price,category\na,A,12.505,rice\nb,B,1,rice\n")
        try:
            list(read_products(csv_file))
        except ProductFileError as error:
            assert error.line == 2
            assert "12.505" in str(error)
        else:
            raise AssertionError("12.505 yuan accepted")

    def test_bad_line_names_its_number(self, tmp_path):
        jsonl = tmp_path / "p.jsonl"
        jsonl.write_text(json.dumps(RICE_PRODUCTS[0]) + "\n{oops\n")
        try:
            list(read_products(jsonl))
        except ProductFileError as error:
            assert error.line == 2
        else:
            raise AssertionError("bad line accepted")

    def test_cli_imports(self, session_factory, database_url, tmp_path, monkeypatch, api):
        jsonl = tmp_path / "p.jsonl"
        jsonl.write_text("".join(json.dumps(p) + "\n" for p in RICE_PRODUCTS))
        operator = shop_key(session_factory)  # the shop exists before its products arrive
        monkeypatch.setenv("KINSAVE_DATABASE_URL", database_url)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["import-products", str(jsonl), "--shop", "Test Shop"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert api.get("/v1/admin/products", headers=operator).json()["total"] == 3
