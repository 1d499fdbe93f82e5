"""Hugo sites in and out: `import_hugo` takes a site over, `export_hugo` writes one back.

`frontmatter` reads files as Hugo does, `cleanup` makes their bodies Kiji's, `covers`
brings their images through the upload pipeline, `importer` puts it together one file
at a time (`extras`: products, term pages and settings), and `exporter` writes the
backup format.
"""

from .cleanup import clean_body, read_affiliate_block, rewrite_post_links
from .exporter import export_site
from .frontmatter import SourceError, split_front_matter
from .importer import HugoImporter, Summary

__all__ = [
    "HugoImporter",
    "SourceError",
    "Summary",
    "clean_body",
    "export_site",
    "read_affiliate_block",
    "rewrite_post_links",
    "split_front_matter",
]
