from django.db import models

from .posts import Post


class SearchDocument(models.Model):
    """A post's words as the search index reads them (see search.py): Latin words
    and overlapping pairs of CJK characters, because Japanese has no spaces."""

    post = models.OneToOneField(
        Post, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    title = models.TextField(default="")
    body = models.TextField(default="")

    def __str__(self):
        return str(self.post_id)
