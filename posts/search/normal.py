"""Text normalised as the index normalises it (`tokens()`: NFKC, then lower case), with
where each of its characters came from, for excerpts.

NFKC costs Japanese text about 150 ns a character once a text holds one character it
changes (a full-width colon or question mark, an ellipsis), and mapping its result
back one character at a time costs more: a page of ten excerpts spent 1 to 3 ms on it.
Yet NFKC changes only a few thousand characters, and the marks that merge into the
character before them: found with one regular expression, only those clusters are
normalised, and everything between them is known to map one to one.
"""

import bisect
import functools
import re
import unicodedata

# Every character NFKC changes lies below U+30000 (the last, in Unicode 14 and 15, is
# U+2FA1D); the tests check this for the running Python.
_SCANNED = 0x30000
# Hangul vowels and final consonants merge into the syllable before them, and
# `unicodedata.decomposition()` lists no syllable's parts (they are computed).
_HANGUL_JOINING = range(0x1161, 0x11C3)


def _class(code_points):
    """A regular expression character class's body for `code_points`, as ranges."""
    ranges = []
    for code_point in sorted(set(code_points)):
        if ranges and ranges[-1][1] == code_point - 1:
            ranges[-1][1] = code_point
        else:
            ranges.append([code_point, code_point])
    return "".join(
        re.escape(chr(first)) + (f"-{re.escape(chr(last))}" if last > first else "") for first, last in ranges
    )


class _Tables:
    """What normalising may change: `changed` (characters NFKC changes, or whose length
    lower case changes), `joining` (characters that may merge into the one before
    them), and `candidates`, an expression that finds either.

    Python's `re` tests a character against a class of BMP characters in one step,
    and against ranges above it one by one: the expression takes any character above
    the BMP, and `changed` and `joining` say which of those are."""

    def __init__(self):
        changed, joining = set(), set(map(chr, _HANGUL_JOINING))
        for code_point in range(_SCANNED):
            character = chr(code_point)
            if unicodedata.combining(character):
                joining.add(character)
                continue
            decomposition = unicodedata.decomposition(character)
            if not decomposition:
                continue
            if unicodedata.normalize("NFKC", character) != character or len(character.lower()) != 1:
                changed.add(character)
            parts = decomposition.split()
            if len(parts) == 2 and not parts[0].startswith("<"):
                # The second of a canonical pair merges into the first, though some of
                # them (Indic vowel signs) are not marks.
                joining.add(chr(int(parts[1], 16)))
        # ﾞ becomes a mark that merges into the ｶ before it.
        joining |= {character for character in changed if unicodedata.normalize("NFKD", character)[0] in joining}
        self.changed, self.joining = frozenset(changed), frozenset(joining)
        basic = [ord(character) for character in changed | joining if ord(character) < 0x10000]
        self.candidates = re.compile(f"[{_class(basic)}\U00010000-\U0010ffff]")


@functools.cache
def _tables():
    """Made on first use (30 to 40 ms) rather than at import, which every command pays."""
    return _Tables()


def _clusters(text):
    """The spans of `text` that normalising may change, each whole: a character it
    changes, or a character with the ones after it that may merge into it."""
    tables, spans = _tables(), []
    for found in tables.candidates.finditer(text):
        at = found.start()
        character = text[at]
        joins = character in tables.joining
        if not joins and character not in tables.changed:
            continue  # above the BMP, and unchanged (an emoji)
        begin = at - 1 if joins and at else at
        if spans and spans[-1][1] >= begin:
            spans[-1][1] = at + 1
        else:
            spans.append([begin, at + 1])
    return spans


class Normalised:
    """`text` normalised (`.text`), and for each of its characters the span of `text` it
    came from (`begin(i)`, `end(i)`): a character of a cluster comes from all of it."""

    def __init__(self, text):
        pieces, self._starts, self._spans = [], [], []
        at = length = 0
        for begin, end in _clusters(text):
            if begin > at:
                self._add(length, at, None)
                pieces.append(text[at:begin])
                length += begin - at
            normal = unicodedata.normalize("NFKC", text[begin:end])
            if len(normal.lower()) != len(normal):
                normal = normal.lower()  # İ: lower case makes it longer, which the spans must know
            self._add(length, begin, end)
            pieces.append(normal)
            length += len(normal)
            at = end
        if at < len(text) or not pieces:
            self._add(length, at, None)
            pieces.append(text[at:])
        # Lower case once over the whole, as tokens() does (a final sigma depends on what
        # is around it); no character left as it was changes length doing so.
        self.text = "".join(pieces).lower()

    def _add(self, normal_start, begin, end):
        """A piece from `normal_start`: the cluster text[begin:end], or, with `end`
        None, characters each from one of `text` from `begin` on."""
        self._starts.append(normal_start)
        self._spans.append((begin, end))

    def _span(self, index):
        piece = bisect.bisect_right(self._starts, index) - 1
        begin, end = self._spans[piece]
        if end is None:
            begin += index - self._starts[piece]
            end = begin + 1
        return begin, end

    def begin(self, index):
        return self._span(index)[0]

    def end(self, index):
        return self._span(index)[1]


def joins_previous(text, index):
    """Whether text[index] may merge into the character before it when normalised."""
    return index > 0 and text[index] in _tables().joining
