"""Words as the index holds them, and queries as phrases of them (see the package's
docstring)."""

import re
import unicodedata
from typing import NamedTuple

# Scripts written without spaces, after NFKC (which turns full-width Latin letters and
# digits into ASCII and half-width katakana into full-width).
_CJK = (
    "\u1100-\u11ff"  # Hangul jamo
    "\u3005-\u3007"  # 々 〆 〇
    "\u3040-\u309f"  # hiragana
    "\u30a1-\u30fa\u30fc-\u30ff"  # katakana with ー, without the middle dot ・
    "\u3130-\u318f"  # Hangul compatibility jamo
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\uac00-\ud7af"  # Hangul syllables
    "\U00020000-\U0003134f"  # Han extensions B to H
)
LETTER = rf"[^\W\d_{_CJK}]"
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<digits>\d+)|(?P<letters>{LETTER}+)")

# Longer queries are cut, so that no query costs more than a few phrases do.
MAX_QUERY_LENGTH = 200


def text_runs(text):
    """(kind, run) for each CJK run, number and Latin word of `text`, normalised."""
    for match in _RUN.finditer(unicodedata.normalize("NFKC", text).lower()):
        yield match.lastgroup, match.group()


def bigrams(run):
    return [run[i : i + 2] for i in range(len(run) - 1)]


def run_tokens(kind, run):
    return bigrams(run) + [run[-1]] if kind == "cjk" else [run]


def tokens(text):
    """The words the index holds for `text`: Latin words, numbers, CJK character pairs."""
    return [token for run in text_runs(text) for token in run_tokens(*run)]


def document(title, description, body_text):
    """A search document's (title, body): the words of each, separated by spaces."""
    return " ".join(tokens(title)), " ".join(tokens(f"{description}\n{body_text}"))


class _Phrase(NamedTuple):
    text: str  # as typed, for databases without an index
    runs: list  # (kind, run), normalised
    tokens: list
    prefix: bool  # whether the last token may begin a longer word


def parse(query):
    """The query's whitespace-separated parts as phrases, parts without words dropped.

    Every run but the last is complete, so it has the tokens a document would have.
    The last may go on in the document: a word or number matches as a prefix; CJK
    matches by its pairs, or, a single character, as the prefix of a pair."""
    phrases = []
    for part in query[:MAX_QUERY_LENGTH].split():
        runs = list(text_runs(part))
        if not runs:
            continue
        *complete, (kind, last) = runs
        words = [token for run in complete for token in run_tokens(*run)]
        prefix = kind != "cjk" or len(last) == 1
        words += [last] if prefix else bigrams(last)
        phrases.append(_Phrase(part, runs, words, prefix))
    return phrases
