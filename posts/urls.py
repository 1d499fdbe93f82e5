"""Public URLs, laid out as Hugo lays them out so that imported sites keep their links."""

from django.urls import path, register_converter
from django.views.generic import TemplateView

from . import clicks, csp, feeds, sitemaps, views
from .slugs import SlugConverter

register_converter(SlugConverter, "kijislug")

app_name = "posts"

urlpatterns = [
    path("", views.home, name="home"),
    path("page/<int:page>/", views.home, name="home"),
    path("posts/", views.post_list, name="list"),
    path("posts/page/<int:page>/", views.post_list, name="list"),
    path("index.xml", feeds.LatestPostsFeed(), name="feed"),
    path("posts/index.xml", feeds.PostListFeed(), name="posts_feed"),
    path("posts/<kijislug:slug>/", views.post_detail, name="detail"),
    path("archives/", views.archives, name="archives"),
    path("search/", views.search, name="search"),
    path("categories/", views.category_list, name="categories"),
    path("categories/<kijislug:slug>/", views.category_detail, name="category"),
    path("categories/<kijislug:slug>/index.xml", feeds.CategoryFeed(), name="category_feed"),
    path("categories/<kijislug:slug>/page/<int:page>/", views.category_detail, name="category"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/<kijislug:slug>/", views.tag_detail, name="tag"),
    path("tags/<kijislug:slug>/index.xml", feeds.TagFeed(), name="tag_feed"),
    path("tags/<kijislug:slug>/page/<int:page>/", views.tag_detail, name="tag"),
    path("r/click", clicks.click, name="click"),
    path("r/view", clicks.view, name="view"),
    path("sitemap.xml", sitemaps.sitemap, name="sitemap"),
    path("sitemap-<str:section>.xml", sitemaps.sitemap_section, name="sitemap_section"),
    path("robots.txt", TemplateView.as_view(template_name="robots.txt", content_type="text/plain"), name="robots"),
    # Where CSP_REPORT_URI=/csp-report/ sends browsers' violation reports, to be logged.
    path("csp-report/", csp.report, name="csp_report"),
]
