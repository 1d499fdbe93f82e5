"""What readers' cached pages depend on, as versions every process can read.

A change to content bumps the versions of the tags it affects (`post:12`, `list`,
`category:3`, `site`) in the same transaction as the change, so that a version is seen
exactly when the change is; each bump takes the next value of one counter, whose row
lock orders the bumps as their transactions commit. See posts/pagecache/.
"""

from django.db import models


class ContentVersion(models.Model):
    """The counter: one row, its value the newest version handed out."""

    value = models.BigIntegerField(default=0)

    def __str__(self):
        return str(self.value)


class CacheTag(models.Model):
    """A tag and the counter value of the last change that affected it."""

    tag = models.CharField(max_length=100, primary_key=True)
    version = models.BigIntegerField(db_index=True)

    def __str__(self):
        return f"{self.tag}@{self.version}"
