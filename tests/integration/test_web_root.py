"""Static files under --web-root: headers for the web client, and nothing outside the root.

Runs without node or a browser: the web root is a small tree the test writes itself.
"""

import http.client

import pytest

from presenced_fixture import Presenced


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    base = tmp_path_factory.mktemp("web")
    root = base / "root"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>client</title>")
    (root / "assets" / "index-abc123.js").write_text("console.log(1)")
    (root / "assets" / "index-abc123.css").write_text("body{}")
    (base / "secret.txt").write_text("outside the root")
    presenced = Presenced(base / "data", extra_args=["--web-root", str(root)])
    yield presenced
    presenced.kill()


def get(server, path):
    """GET with the path exactly as written (no client-side normalisation)."""
    host, port = server.url[len("http://"):].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode("utf-8", "replace")
    connection.close()
    return response, body


def test_index_is_revalidated_and_locked_down(web):
    response, body = get(web, "/")
    assert response.status == 200
    assert "client" in body
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert response.getheader("Cache-Control") == "no-cache"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    csp = response.getheader("Content-Security-Policy")
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert get(web, "/index.html")[0].getheader("Cache-Control") == "no-cache"


def test_hashed_assets_are_immutable(web):
    for path, kind in [("/assets/index-abc123.js", "text/javascript"),
                       ("/assets/index-abc123.css", "text/css")]:
        response, _ = get(web, path)
        assert response.status == 200, path
        assert response.getheader("Content-Type").startswith(kind)
        assert "immutable" in response.getheader("Cache-Control")
        assert response.getheader("X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/assets/../../secret.txt", "//etc/passwd", "///etc/passwd", "/etc/passwd",
    "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/assets", "/assets/", "/nope.html",
])
def test_outside_the_root_and_unknown_paths_are_404(web, path):
    response, body = get(web, path)
    assert response.status == 404
    assert "outside the root" not in body
    assert "root:" not in body
    assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_api_routes_are_not_static_files(web):
    response, _ = get(web, "/api/v1/me")
    assert response.status == 401
    assert get(web, "/healthz")[0].status == 200
