"""The one sanitizer: every piece of HTML a writer or an imported file supplies goes
through `sanitize` before anything stores or shows it."""

import html
import re

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
    "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time",
    "tr", "u", "ul", "var", "wbr",
}  # fmt: skip
# Dropped with everything inside them, so that their text never shows as prose.
REMOVED_WITH_CONTENT = {
    "script", "style", "iframe", "object", "embed", "form", "noscript", "template",
    "textarea", "select", "button", "svg", "math", "title", "base", "meta", "link",
}  # fmt: skip
_STYLED = {"div", "span", "p", "a", "strong", "em", "small", "table", "th", "td", "img"}
ALLOWED_ATTRIBUTES = {
    "*": {"title", "lang", "dir", "class"},
    "a": {"href", "rel", "target", "hreflang"},
    "img": {"src", "alt", "width", "height", "loading"},
    "ol": {"start", "type"},
    "pre": {"data-lang"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "time": {"datetime"},
    "details": {"open"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
for _tag in _STYLED:
    ALLOWED_ATTRIBUTES.setdefault(_tag, set()).add("style")
URL_SCHEMES = {"http", "https", "mailto", "tel"}

# Hosts whose links pay the site: marked sponsored, opened in a new tab.
AFFILIATE_HOSTS = re.compile(
    r"^https?://(?:[\w-]+\.)*(?:amazon\.co\.jp|amzn\.to|amzn\.asia|rakuten\.co\.jp|shopping\.yahoo\.co\.jp|valuecommerce\.com)(?:[/:?#]|$)",
    re.IGNORECASE,
)

_A_TAG_RE = re.compile(r'<a((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*>')
_ATTR_RE = re.compile(r'([\w:-]+)(?:="([^"]*)")?')


def sanitize(fragment):
    """Clean an HTML fragment with Kiji's allowlist and mark affiliate links."""
    cleaned = nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        clean_content_tags=REMOVED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=URL_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )
    return _A_TAG_RE.sub(_finish_link, cleaned)


def _finish_link(match):
    attrs = {name: value or "" for name, value in _ATTR_RE.findall(match.group(1))}
    href = html.unescape(attrs.get("href", ""))
    rel = set(attrs.get("rel", "").split())
    if AFFILIATE_HOSTS.match(href):
        rel |= {"sponsored", "noopener"}
        attrs["target"] = "_blank"
    if attrs.get("target") == "_blank":
        rel.add("noopener")
    if rel:
        first = [value for value in ("sponsored", "noopener") if value in rel]
        attrs["rel"] = " ".join(first + sorted(rel.difference(first)))
    parts = "".join(f' {name}="{value}"' for name, value in attrs.items())
    return f"<a{parts}>"


def _filter_attribute(tag, attribute, value):
    # nh3 hands over every allowed attribute, entities already decoded; only style
    # needs more than the allowlist, because nh3 checks its property names, not values.
    if attribute != "style":
        return value
    return _clean_style(value) or None


def _clean_style(style):
    """`style`'s allowed declarations as `property:value;…`, each without `!important`."""
    kept = []
    for declaration in _declarations(style):
        name, colon, value = declaration.partition(":")
        if not colon or not declaration.isascii() or _CONTROL_RE.search(declaration):
            continue
        name = name.strip(_CSS_SPACE).lower()
        value = value.strip(_CSS_SPACE).lower()
        if len(value) > _STYLE_VALUE_LIMIT:
            continue
        parts = _value_parts(_IMPORTANT_RE.sub("", value))
        if parts and name in _STYLE_GRAMMAR and _STYLE_GRAMMAR[name](parts):
            kept.append(f"{name}:{' '.join(parts)}")
    return ";".join(kept)


def _declarations(style):
    """Split on the semicolons outside strings, brackets and comments, and not escaped."""
    declarations, start, depth, quote, index = [], 0, 0, None, 0
    while index < len(style):
        char = style[index]
        if char == "\\":
            index += 1
        elif quote:
            quote = None if char == quote else quote
        elif style.startswith("/*", index):
            end = style.find("*/", index + 2)
            index = len(style) if end < 0 else end + 1
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char == ";" and not depth:
            declarations.append(style[start:index])
            start = index + 1
        index += 1
    declarations.append(style[start:])
    return declarations


def _value_parts(value):
    """A value's space-separated parts, functions whole and tightened; None on a stray bracket."""
    parts, index = [], 0
    while index < len(value):
        match = _PART_RE.match(value, index)
        if not match:
            return None
        part = match.group(1)
        if "(" in part:
            part = _SPACE_RE.sub(" ", _SEPARATOR_RE.sub(r"\1", part))
        parts.append(part)
        index = match.end()
    return parts


# Values are ASCII, lower-cased, not too long, and numbers have no sign: a negative
# margin could pull a box over what comes before it.
_STYLE_VALUE_LIMIT = 200
_CSS_SPACE = " \t\n\r\f"
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_IMPORTANT_RE = re.compile(r"[ \t\n\r\f]*![ \t\n\r\f]*important\Z")
_PART_RE = re.compile(r"[ \t\n\r\f]*([a-z]+\([^()]*\)|[^ \t\n\r\f()]+)[ \t\n\r\f]*")
_SEPARATOR_RE = re.compile(r"[ \t\n\r\f]*([(),/])[ \t\n\r\f]*")
_SPACE_RE = re.compile(r"[ \t\n\r\f]+")
_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)"
_NUMBER_RE = re.compile(_NUMBER)
_LENGTH_RE = re.compile(rf"0|{_NUMBER}(?:px|em|rem|%|vw|vh|pt|ch|ex)")
_HEX_COLOUR_RE = re.compile(r"#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})")
# The only functions a value may hold: rgb()/rgba() and hsl()/hsla() of plain numbers,
# comma-separated or space-separated with an optional "/ alpha".
_ALPHA = rf"(?:/{_NUMBER}%?)?"
_COLOUR_FUNCTION_RE = re.compile(
    rf"rgba?\((?:{_NUMBER}%?(?:,{_NUMBER}%?){{2,3}}|{_NUMBER}%?(?: {_NUMBER}%?){{2}}{_ALPHA})\)"
    rf"|hsla?\((?:{_NUMBER}(?:deg)?,{_NUMBER}%,{_NUMBER}%(?:,{_NUMBER}%?)?"
    rf"|{_NUMBER}(?:deg)? {_NUMBER}% {_NUMBER}%{_ALPHA})\)"
)
_NAMED_COLOURS = {
    "aliceblue", "antiquewhite", "aqua", "aquamarine", "azure", "beige", "bisque", "black",
    "blanchedalmond", "blue", "blueviolet", "brown", "burlywood", "cadetblue", "chartreuse",
    "chocolate", "coral", "cornflowerblue", "cornsilk", "crimson", "cyan", "darkblue",
    "darkcyan", "darkgoldenrod", "darkgray", "darkgreen", "darkgrey", "darkkhaki",
    "darkmagenta", "darkolivegreen", "darkorange", "darkorchid", "darkred", "darksalmon",
    "darkseagreen", "darkslateblue", "darkslategray", "darkslategrey", "darkturquoise",
    "darkviolet", "deeppink", "deepskyblue", "dimgray", "dimgrey", "dodgerblue", "firebrick",
    "floralwhite", "forestgreen", "fuchsia", "gainsboro", "ghostwhite", "gold", "goldenrod",
    "gray", "green", "greenyellow", "grey", "honeydew", "hotpink", "indianred", "indigo",
    "ivory", "khaki", "lavender", "lavenderblush", "lawngreen", "lemonchiffon", "lightblue",
    "lightcoral", "lightcyan", "lightgoldenrodyellow", "lightgray", "lightgreen", "lightgrey",
    "lightpink", "lightsalmon", "lightseagreen", "lightskyblue", "lightslategray",
    "lightslategrey", "lightsteelblue", "lightyellow", "lime", "limegreen", "linen", "magenta",
    "maroon", "mediumaquamarine", "mediumblue", "mediumorchid", "mediumpurple",
    "mediumseagreen", "mediumslateblue", "mediumspringgreen", "mediumturquoise",
    "mediumvioletred", "midnightblue", "mintcream", "mistyrose", "moccasin", "navajowhite",
    "navy", "oldlace", "olive", "olivedrab", "orange", "orangered", "orchid", "palegoldenrod",
    "palegreen", "paleturquoise", "palevioletred", "papayawhip", "peachpuff", "peru", "pink",
    "plum", "powderblue", "purple", "rebeccapurple", "red", "rosybrown", "royalblue",
    "saddlebrown", "salmon", "sandybrown", "seagreen", "seashell", "sienna", "silver",
    "skyblue", "slateblue", "slategray", "slategrey", "snow", "springgreen", "steelblue", "tan",
    "teal", "thistle", "tomato", "turquoise", "violet", "wheat", "white", "whitesmoke",
    "yellow", "yellowgreen", "transparent", "currentcolor",
}  # fmt: skip


def _colour(part):
    if part in _NAMED_COLOURS:
        return True
    return bool(_HEX_COLOUR_RE.fullmatch(part) or _COLOUR_FUNCTION_RE.fullmatch(part))


def _length(part):
    return bool(_LENGTH_RE.fullmatch(part))


def _number(part):
    return bool(_NUMBER_RE.fullmatch(part))


def _one_of(*words):
    return frozenset(words).__contains__


def _either(*kinds):
    return lambda part: any(kind(part) for kind in kinds)


def _repeat(kind, most=1):
    """Between one and `most` parts, each of `kind` (margin: 0 auto)."""
    return lambda parts: len(parts) <= most and all(map(kind, parts))


def _shorthand(*kinds):
    """Parts in any order, at most one of each kind (border: 1px solid #ddd)."""

    def matches(parts):
        found = [next((kind for kind in kinds if kind(part)), None) for part in parts]
        return None not in found and len(set(found)) == len(found)

    return matches


_BORDER_WIDTH = _either(_length, _one_of("thin", "medium", "thick"))
_BORDER_STYLE = _one_of(
    "none", "hidden", "dotted", "dashed", "solid", "double", "groove", "ridge", "inset", "outset"
)
_BORDER = _shorthand(_BORDER_WIDTH, _BORDER_STYLE, _colour)
_MARGIN = _either(_length, _one_of("auto"))
_SIDES = ("top", "bottom", "left", "right")
# Layout and colour only: nothing that can position content over the page or fetch URLs
# (no position, z-index, transform, background or content).
_STYLE_GRAMMAR = {
    "color": _repeat(_colour),
    "background-color": _repeat(_colour),
    "border": _BORDER,
    **{f"border-{side}": _BORDER for side in _SIDES},
    "border-color": _repeat(_colour, 4),
    "border-style": _repeat(_BORDER_STYLE, 4),
    "border-width": _repeat(_BORDER_WIDTH, 4),
    "border-radius": _repeat(_length, 4),
    "padding": _repeat(_length, 4),
    **{f"padding-{side}": _repeat(_length) for side in _SIDES},
    "margin": _repeat(_MARGIN, 4),
    **{f"margin-{side}": _repeat(_MARGIN) for side in _SIDES},
    "font-size": _repeat(_either(_length, _one_of(
        "xx-small", "x-small", "small", "medium", "large", "x-large", "xx-large",
        "smaller", "larger",
    ))),
    "font-weight": _repeat(_one_of(
        "normal", "bold", "bolder", "lighter", *(f"{n}00" for n in range(1, 10)),
    )),
    "font-style": _repeat(_one_of("normal", "italic", "oblique")),
    "text-align": _repeat(_one_of("left", "right", "center", "justify", "start", "end")),
    "text-decoration": _shorthand(
        _one_of("none", "underline", "overline", "line-through"),
        _one_of("solid", "double", "dotted", "dashed", "wavy"),
        _colour,
    ),
    "line-height": _repeat(_either(_number, _length, _one_of("normal"))),
    "display": _repeat(_one_of(
        "block", "inline", "inline-block", "flex", "inline-flex", "grid", "none",
    )),
    "gap": _repeat(_length, 2),
    "flex-wrap": _repeat(_one_of("nowrap", "wrap", "wrap-reverse")),
    "flex-direction": _repeat(_one_of("row", "row-reverse", "column", "column-reverse")),
    "justify-content": _repeat(_one_of(
        "normal", "flex-start", "flex-end", "start", "end", "left", "right", "center",
        "space-between", "space-around", "space-evenly", "stretch",
    )),
    "align-items": _repeat(_one_of(
        "normal", "flex-start", "flex-end", "start", "end", "center", "baseline", "stretch",
    )),
    "width": _repeat(_either(_length, _one_of("auto"))),
    "max-width": _repeat(_either(_length, _one_of("none"))),
    "vertical-align": _repeat(_either(_length, _one_of(
        "baseline", "sub", "super", "text-top", "text-bottom", "middle", "top", "bottom",
    ))),
    "white-space": _repeat(_one_of(
        "normal", "nowrap", "pre", "pre-wrap", "pre-line", "break-spaces",
    )),
}  # fmt: skip
ALLOWED_STYLES = frozenset(_STYLE_GRAMMAR)
