"""Goldmark's typography, ported as markdown-it core rules: its typographer (curly
quotes, dashes, ellipses, guillemets) and its CJK extension's East Asian line breaks."""

import re
import string
import unicodedata

_SUBSTITUTIONS = (("---", "—"), ("--", "–"), ("...", "…"), ("<<", "«"), (">>", "»"))
_LSQUO, _RSQUO, _LDQUO, _RDQUO = "‘’“”"
_ASCII_BREAK = (string.punctuation + " \t\n\v\f\r").encode()  # util.IsPunct || util.IsSpace


def typographer(state):
    """Goldmark's typographer, ported rather than markdown-it's smartquotes, which only
    curls quotes that pair up: goldmark curls an opener at once, keeps per-block counts
    of open quotes, and has apostrophe rules of its own ('90s, 'n', Yahoo!'s)."""
    for token in state.tokens:
        if token.type == "inline" and token.children:
            chars, owners = [], []
            _source_view(token.children, chars, owners)
            _typeset(chars, owners)


def _source_view(children, chars, owners):
    """Lay inline tokens out as goldmark's parser reads the source: text as written,
    markup as one punctuation character, a line break as a newline. `owners` holds
    the (token, offset) each character can be replaced at, or None where it must stay:
    escapes, entities, code, HTML, autolinks."""
    in_autolink = False
    for child in children:
        if child.type == "text":
            owner = None if in_autolink else child
            chars.extend(child.content)
            owners.extend((owner, offset) if owner else None for offset in range(len(child.content)))
            continue
        if child.type == "text_special":
            text = child.markup
        elif child.type in ("softbreak", "hardbreak"):
            text = "\n"
        elif child.info == "auto":  # the open or close of an <autolink> or a linkified URL
            in_autolink = child.nesting == 1
            text = ("<" if in_autolink else ">") if child.markup == "autolink" else ""
        else:
            text = "*"
        chars.extend(text)
        owners.extend([None] * len(text))
        if child.type == "image":  # goldmark typesets alt text as part of the paragraph
            _source_view(child.children or [], chars, owners)
            chars.append("*")
            owners.append(None)


def _typeset(chars, owners):
    """Apply goldmark's substitutions, left to right, to the replaceable characters."""
    replaced, unclosed, index = {}, {"'": 0, '"': 0}, 0
    while index < len(chars):
        for source, typographic in _SUBSTITUTIONS if owners[index] else ():
            end = index + len(source)
            if "".join(chars[index:end]) == source and all(owners[index:end]):
                replaced.update({index: typographic, **dict.fromkeys(range(index + 1, end), "")})
                index = end
                break
        else:
            if owners[index] and chars[index] in "'\"" and (quote := _quote(chars, index, unclosed)):
                replaced[index] = quote
            index += 1
    # From the end, so that each token's earlier offsets stay valid.
    for index in sorted(replaced, reverse=True):
        token, offset = owners[index]
        token.content = token.content[:offset] + replaced[index] + token.content[offset + 1 :]


def _quote(chars, index, unclosed):
    """What goldmark (v1's extension/typographer.go) makes of the quote at chars[index]:
    a curly quote, or None to leave it straight. `unclosed` counts the open quotes."""
    quote, before = chars[index], chars[index - 1] if index else "\n"
    window = "".join(chars[index : index + 8])
    line = window[: window.index("\n") + 1] if "\n" in window else window  # goldmark's PeekLine
    raw = line.encode()  # which goldmark indexes by byte; line[1] is the character after the quote
    second, run = line[1:2] or " ", len(line) - len(line.lstrip(quote))
    after = line[run] if run < len(line) else " "
    # parser.ScanDelimiter: flanking as for emphasis, punctuation being Unicode P or S.
    can_open = not after.isspace() and (not _is_punct(after) or before.isspace() or _is_punct(before))
    can_close = not before.isspace() and (not _is_punct(before) or after.isspace() or _is_punct(after))
    closes = (can_close and not can_open) or (
        can_close
        and can_open
        and unicodedata.category(second)[0] == "P"
        and (len(raw) == 2 or raw[2] in _ASCII_BREAK)
    )
    if quote == "'":
        fifth = line[4:5] or " "
        if (can_open and not can_close and raw[1:3].isdigit() and raw[3:4] == b"s") and (
            fifth.isspace() or _is_punct(fifth)
        ):
            return _RSQUO  # '90s
        if (unicodedata.category(before)[0] == "P" or before.isspace()) and second in "tenl":
            return _RSQUO  # 'twas, 'em, 'net
        if (before.isalpha() or unicodedata.category(before) == "Nd") and second.isalpha():
            return _RSQUO  # O'Reilly, it's
        if can_open and not can_close:
            if (second in "smtd" and (len(raw) < 3 or raw[2] in _ASCII_BREAK)) or (
                line[1:3] in ("ve", "ll", "re") and (len(raw) < 4 or raw[3] in _ASCII_BREAK)
            ):
                return _RSQUO  # Yahoo!'s, [Cat]'ll
            unclosed[quote] += 1
            return _LSQUO
        if len(raw) > 2 and unicodedata.category(second) != "Nd":
            return _RSQUO  # Smiths', doin'
    elif can_open and not can_close:
        unclosed[quote] += 1
        return _LDQUO
    if unclosed[quote] and closes:
        if quote == '"' and second == '"' and unicodedata.category(before) == "Nd":
            return None  # 21"" is inches
        unclosed[quote] -= 1
        return _RSQUO if quote == "'" else _RDQUO
    return None


def _is_punct(char):
    return unicodedata.category(char)[0] in "PS"


# Goldmark's util.IsEastAsianWideRune: the Han, Hiragana, Katakana and Hangul scripts,
# the CJK Symbols and Punctuation block and, below, modifier letters (Lm). Scripts, not
# East Asian Width: fullwidth ！？（） and emoji do not count, so "すごい！" keeps its break.
_EAST_ASIAN_WIDE = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fd5\u3000-\u303f\u3041-\u3096\u309d-\u309f\u30a1-\u30fa"
    "\u30fd-\u30ff\u3131-\u318e\u31f0-\u321e\u3260-\u327e\u32d0-\u32fe\u3300-\u3357"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97c\uac00-\ud7fb\uf900-\ufad9\uff66-\uff6f"
    "\uff71-\uff9d\uffa0-\uffdc\U00016fe2\U00016fe3\U00016ff0\U00016ff1\U0001aff0-\U0001b16f"
    "\U0001f200\U00020000-\U000323af]"
)


def _east_asian_pair(pair):
    return len(pair) == 2 and all(
        _EAST_ASIAN_WIDE.match(char) or unicodedata.category(char) == "Lm" for char in pair
    )


def join_east_asian_lines(state):
    """Goldmark's eastAsianLineBreaks, "simple" style: a soft break between two East
    Asian wide characters renders as nothing."""
    for token in state.tokens:
        children = token.children or []
        for index in range(len(children) - 2, 0, -1):
            before, child, after = children[index - 1 : index + 2]
            # Goldmark also drops every soft break followed by anything but text (emphasis,
            # a code span, a link), joining even Latin words (yuin/goldmark#582, open);
            # here a break goes only with text on both sides.
            if child.type != "softbreak" or not before.type == after.type == "text":
                continue
            if _east_asian_pair(before.content[-1:] + after.content[:1]):
                del children[index]
