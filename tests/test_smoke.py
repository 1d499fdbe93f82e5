from tests.conftest import make_post


def test_article_renders(client, affiliate_settings):
    post = make_post(title="表のある記事", body="## 要約\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n", categories=["AI News"], tags=["速報"])
    post.affiliate_boxes.create(keyword="AWS 資格 テキスト", product_name="本", placement="summary")
    post.affiliate_boxes.create(keyword="AWS 資格 テキスト", placement="end")
    response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    print(html)
    assert "<table>" in html
    for url in ["/", "/posts/", "/categories/", "/tags/", "/categories/ai-news/", "/tags/速報/"]:
        assert client.get(url).status_code == 200, url
