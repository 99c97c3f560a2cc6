"""The pages' message catalogs, read from the packaged JSON files."""

from kinsave.web.i18n import CATALOGS, LANGUAGES, text, translator


class TestCatalogs:
    def test_every_language_has_a_catalog(self) -> None:
        assert set(CATALOGS) == set(LANGUAGES)

    def test_both_catalogs_have_the_same_keys(self) -> None:
        english, chinese = set(CATALOGS["en"]), set(CATALOGS["zh-CN"])
        assert english - chinese == set(), "missing in zh-CN.json"
        assert chinese - english == set(), "missing in en.json"

    def test_every_text_is_filled_in(self) -> None:
        for language, catalog in CATALOGS.items():
            empty = [key for key, value in catalog.items() if not value.strip()]
            assert empty == [], f"empty texts in {language}.json"

    def test_texts_come_from_the_data_files(self) -> None:
        assert text("en", "app.title") == "Relatives & Friends Save"
        assert text("zh-CN", "app.title") == "亲友省钱购"
        assert translator("zh-CN")["nav.language"] == "English"


class TestFallback:
    def test_unknown_language_reads_english(self) -> None:
        assert text("fr", "nav.home") == "Home"
        assert translator("fr") is CATALOGS["en"]

    def test_unknown_key_reads_as_itself(self) -> None:
        assert text("zh-CN", "no.such.key") == "no.such.key"
