"""Related posts, stored: computed when content changes (posts/related.py), read by the
article with one indexed query."""

from django.db import models

from .posts import Post


class RelatedPost(models.Model):
    """`related` is the `rank`-th post that `post` lists as related, with its score."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="related_links")
    related = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="listed_in")
    rank = models.PositiveSmallIntegerField()
    score = models.PositiveIntegerField()

    class Meta:
        ordering = ["post", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["post", "rank"], name="related_post_rank_unique"),
            models.UniqueConstraint(fields=["post", "related"], name="related_post_once"),
        ]

    def __str__(self):
        return f"{self.post_id} → {self.related_id} ({self.score})"


class RelatedBacklog(models.Model):
    """A post whose change may move related lists; the task that refreshes them empties
    this table. A plain id, not a key: the post may be gone by then."""

    post_id = models.BigIntegerField(primary_key=True)

    def __str__(self):
        return str(self.post_id)


class RenderBacklog(models.Model):
    """A post whose stored page and card must be rendered again (posts/pages.py);
    post 0 stands for every post."""

    post_id = models.BigIntegerField(primary_key=True)

    def __str__(self):
        return str(self.post_id)
