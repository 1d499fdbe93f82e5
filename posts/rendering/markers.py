"""Boxes a writer places in a body, on a line of their own, in the shortcode form these
writers know from Hugo:

    {{< affiliate "RTX 4090 24GB" >}}     a search box for that keyword
    {{< product rtx-4090 >}}              the registry's product with that slug

The body is rendered once, on save: each marker becomes `<!--kiji-box:N-->` in the
stored HTML (a comment no writer can put there: the sanitizer removes every comment),
and its kind and key are kept in order beside it. The box itself is built when a page
is rendered, from the current settings and products (posts/affiliate.py).
"""

import re
import secrets

from markdown_it.token import Token

MARKER_RE = re.compile(r'^\{\{<\s*(affiliate|product)\s+(?:"([^"\n]+)"|([^\s"]+))\s*>\}\}$')
PLACEHOLDER = "<!--kiji-box:{}-->"
PLACEHOLDER_RE = re.compile(r"<!--kiji-box:(\d+)-->")


def place(state):
    """markdown-it core rule, right after inline parsing: a paragraph that is one marker
    becomes a block holding an unguessable sentinel, restored by `finish`."""
    markers = state.env.setdefault("kiji_markers", [])
    nonce = state.env.setdefault("kiji_nonce", secrets.token_hex(8))
    tokens, out, index = state.tokens, [], 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "paragraph_open" and index + 2 < len(tokens) and tokens[index + 1].type == "inline":
            match = MARKER_RE.match(tokens[index + 1].content.strip())
            if match:
                markers.append({"kind": match[1], "key": (match[2] or match[3]).strip()})
                block = Token("html_block", "", 0, block=True)
                block.content = f"KIJIBOX{nonce}-{len(markers) - 1}\n"
                block.meta = {"kiji_box": len(markers) - 1}
                block.level, block.map = token.level, token.map
                out.append(block)
                index += 3  # paragraph_open, inline, paragraph_close
                continue
        out.append(token)
        index += 1
    state.tokens = out


def finish(fragment, env):
    """The sanitized HTML with each sentinel turned into its placeholder."""
    nonce = env.get("kiji_nonce")
    if not nonce:
        return fragment
    return re.sub(rf"KIJIBOX{nonce}-(\d+)\n?", lambda match: PLACEHOLDER.format(match[1]), fragment)


def is_marker(token):
    return token.type == "html_block" and "kiji_box" in (token.meta or {})
