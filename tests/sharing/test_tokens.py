import re

from hypothesis import given
from hypothesis import strategies as st

from kinsave.sharing import tokens

codes = st.text(alphabet=tokens.ALPHABET, min_size=11, max_size=11)
noise = st.text(max_size=200)
plain = st.text(alphabet=st.characters(blacklist_characters=tokens.DELIMITERS), max_size=200)


class TestNewCode:
    def test_is_eleven_base62(self):
        for _ in range(200):
            assert re.fullmatch(r"[0-9A-Za-z]{11}", tokens.new_code())

    def test_codes_do_not_repeat(self):
        assert len({tokens.new_code() for _ in range(2000)}) == 2000


class TestFormat:
    def test_default_yuan(self):
        assert tokens.format_token("K7pQ2mX9aB1") == "￥K7pQ2mX9aB1￥"

    def test_parenthesis_closes(self):
        assert tokens.format_token("K7pQ2mX9aB1", "(") == "(K7pQ2mX9aB1)"

    @given(codes, st.sampled_from(tokens.DELIMITERS))
    def test_round_trip(self, code, delimiter):
        assert tokens.find_code(tokens.format_token(code, delimiter)) == code


class TestFind:
    def test_noise_around(self):
        text = "【淘宝】复制这段话￥K7pQ2mX9aB1￥打开手机App 😀 https://x.y"
        assert tokens.find_code(text) == "K7pQ2mX9aB1"

    def test_first_token_wins(self):
        assert tokens.find_code("$AAAAAAAAAAA$ then #BBBBBBBBBBB#") == "AAAAAAAAAAA"

    def test_mixed_delimiters_refused(self):
        assert tokens.find_code("$K7pQ2mX9aB1#") is None

    def test_equivalent_yuan_and_bang(self):
        assert tokens.find_code("¥K7pQ2mX9aB1￥") == "K7pQ2mX9aB1"
        assert tokens.find_code("!K7pQ2mX9aB1！") == "K7pQ2mX9aB1"

    def test_wrong_length_refused(self):
        assert tokens.find_code("￥K7pQ2mX9aB￥ ￥K7pQ2mX9aB12￥") is None

    def test_later_valid_token_after_a_broken_one(self):
        assert tokens.find_code("￥short￥ and @K7pQ2mX9aB1@") == "K7pQ2mX9aB1"

    def test_huge_input_is_capped(self):
        text = "x" * (tokens.MAX_TEXT_LENGTH + 10) + "￥K7pQ2mX9aB1￥"
        assert tokens.find_code(text) is None
        assert tokens.find_code("￥K7pQ2mX9aB1￥" + "😀" * 1_000_000) == "K7pQ2mX9aB1"

    @given(st.text(max_size=2000))
    def test_any_text_never_crashes(self, text):
        found = tokens.find_code(text)
        assert found is None or tokens.is_code(found)

    @given(plain, codes, st.sampled_from(tokens.DELIMITERS), noise)
    def test_token_after_plain_noise_is_found(self, before, code, delimiter, after):
        assert tokens.find_code(before + tokens.format_token(code, delimiter) + after) == code

    def test_handle_is_code_or_text(self):
        assert tokens.handle_code(" K7pQ2mX9aB1 ") == "K7pQ2mX9aB1"
        assert tokens.handle_code("paste: %K7pQ2mX9aB1%") == "K7pQ2mX9aB1"
        assert tokens.handle_code("nothing") is None
