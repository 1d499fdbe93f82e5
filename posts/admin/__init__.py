"""The admin, which is Kiji's editor: posts, terms, the site's settings, the media
library, redirects and what earns (products, clicks), each in a module of its own;
importing this package registers them all."""

from . import affiliate, media, posts, redirects, site, terms  # noqa: F401 (registering is the point)
from . import api  # noqa: F401,E402 (the write API's tokens, writes, guardrails and webhooks)
