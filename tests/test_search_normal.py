"""Excerpts find matches in text normalised as the index normalises it (NFKC, lower
case) without running NFKC over the whole text: these check that the shortcut gives
exactly NFKC's text, and where each character came from, for every character."""

import sys
import unicodedata

import pytest

from posts.search.normal import Normalised


def every_code_point():
    """Every code point but the surrogates, which no str of text holds."""
    return [code_point for code_point in range(sys.maxunicode + 1) if not 0xD800 <= code_point < 0xE000]


def normalised(text):
    return unicodedata.normalize("NFKC", text).lower()


def test_every_character_is_normalised_as_nfkc_and_lower_case_normalise_it():
    # Runs of consecutive code points: each character alone, and beside its neighbours
    # (a base letter before its marks, a Hangul syllable before its jamo).
    code_points = every_code_point()
    for start in range(0, len(code_points), 97):
        text = "".join(map(chr, code_points[start : start + 97]))
        assert Normalised(text).text == normalised(text), f"from U+{code_points[start]:04X}"


@pytest.mark.parametrize(
    "text",
    [
        "ｶﾞｲﾄﾞ",  # half-width katakana and voiced marks: one character each
        "㍻と㈱",  # one character, several
        "e\u0301t\u00e9 a\u0328\u0301",  # marks that merge, in canonical order or not
        "\u1100\u1161\u11a8 \uac00\u11a8",  # Hangul jamo into a syllable
        "\u0b47\u0b3e",  # an Indic vowel sign, not a mark, that merges
        "İSTANBUL ΟΔΟΣ ＡＢＣ",  # lower case longer, a final sigma, full-width Latin
        "絵文字😀と𝐀𝐁",  # above the BMP: unchanged, and changed
    ],
)
def test_each_character_of_the_normalised_text_comes_from_the_text_it_says(text):
    normal = Normalised(text)
    assert normal.text == normalised(text)
    for index, character in enumerate(normal.text):
        begin, end = normal.begin(index), normal.end(index)
        assert 0 <= begin < end <= len(text)
        # A sigma alone is σ; at the end of a word, ς.
        alone = normalised(text[begin:end]).replace("σ", "ς")
        assert character.replace("σ", "ς") in alone, (index, character, text[begin:end])


def test_only_characters_below_u30000_change_when_normalised():
    # The tables are made from the code points below U+30000 alone.
    changed = [
        code_point
        for code_point in every_code_point()
        if unicodedata.normalize("NFKC", chr(code_point)) != chr(code_point) or len(chr(code_point).lower()) != 1
    ]
    assert changed and max(changed) < 0x30000
