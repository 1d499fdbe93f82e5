"""Public URLs, laid out as Hugo lays them out so that imported sites keep their links."""

from django.urls import path

from . import views

app_name = "posts"

urlpatterns = [
    path("", views.home, name="home"),
    path("page/<int:page>/", views.home, name="home"),
    path("posts/", views.post_list, name="list"),
    path("posts/page/<int:page>/", views.post_list, name="list"),
    path("posts/<str:slug>/", views.post_detail, name="detail"),
    path("categories/", views.category_list, name="categories"),
    path("categories/<str:slug>/", views.category_detail, name="category"),
    path("categories/<str:slug>/page/<int:page>/", views.category_detail, name="category"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/<str:slug>/", views.tag_detail, name="tag"),
    path("tags/<str:slug>/page/<int:page>/", views.tag_detail, name="tag"),
]
