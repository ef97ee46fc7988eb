"""Fetching an article page: a server that lies about its body must not give a cut-off
article that is archived as if complete (issue 11, item 4), and every hop of the exchange
is kept for the WARC capture.

The lying server is real (http.server on 127.0.0.1), the client is the real CLI.
"""
from __future__ import annotations

import json
import socket

import pytest

from archiver.errors import ArchiverError
from archiver.fetch import fetch_page
from conftest import LoopbackServer, news_page, run_cli, run_json, seed_paragraphs

PAGE = news_page("A page that arrives in pieces", seed_paragraphs(), "").encode("utf-8")


def _hang_up(h) -> None:
    h.wfile.flush()
    h.connection.shutdown(socket.SHUT_RDWR)
    h.close_connection = True


class Liar:
    """Serves PAGE, lying on the first `lies` requests: `short` (Content-Length says more than
    is sent, then the connection closes) or `chunked` (a chunk header promises more than comes)."""

    def __init__(self, how: str, lies: int):
        self.how, self.lies, self.requests = how, lies, 0

    def __call__(self, h) -> None:
        self.requests += 1
        lying = self.requests <= self.lies
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        if self.how == "chunked":
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            cut = len(PAGE) // 2 if lying else len(PAGE)
            h.wfile.write(f"{len(PAGE):x}\r\n".encode() + PAGE[:cut])
            if lying:
                _hang_up(h)
                return
            h.wfile.write(b"\r\n0\r\n\r\n")
            return
        h.send_header("Content-Length", str(len(PAGE)))
        h.end_headers()
        h.wfile.write(PAGE[: len(PAGE) // 2] if lying else PAGE)
        if lying:
            _hang_up(h)


@pytest.fixture
def server(tmp_path):
    s = LoopbackServer(tmp_path)
    yield s
    s.close()


@pytest.mark.parametrize("how", ["short", "chunked"])
def test_a_cut_off_page_is_a_failure_that_is_retried_and_recorded(server, tmp_path, how):
    liar = Liar(how, lies=99)
    url = server.route(f"/{how}.html", liar)
    config = tmp_path / "quick.toml"
    config.write_text("[download]\nretries = 2\n")
    report = run_json("--config", str(config), "add", url, archive=tmp_path / "a")
    article = report["articles"][0]
    assert article["status"] == "failed", "a page cut in half was archived as if complete"
    assert "incomplete page" in article["error"] and url in article["error"]
    assert liar.requests == 2, "config [download] retries = 2 attempts"
    status = run_json("status", archive=tmp_path / "a")
    row = status["articles"][0]
    assert (row["stage"], row["status"]) == ("fetch", "failed") and "incomplete page" in row["error"]
    assert not list((tmp_path / "a").glob("articles/*/article.json"))


def test_a_page_cut_once_is_fetched_whole_on_the_next_attempt(server, tmp_path):
    liar = Liar("short", lies=1)
    url = server.route("/flaky.html", liar)
    page = fetch_page(url, timeout=5, retries=3)
    assert liar.requests == 2 and page.body == PAGE and page.final.status == 200


def test_an_oversized_page_is_a_clear_error_not_a_cut(server, tmp_path):
    (tmp_path / "big.html").write_bytes(PAGE * 4)
    with pytest.raises(ArchiverError, match="over the 0 MiB limit|limit for an article page"):
        fetch_page(server.url("big.html"), limit=len(PAGE) * 2)

    def no_length(h):  # connection-delimited: the size shows only while reading
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        h.wfile.write(PAGE * 4)
        h.close_connection = True

    with pytest.raises(ArchiverError, match="limit for an article page"):
        fetch_page(server.route("/endless.html", no_length), limit=len(PAGE) * 2)


def test_every_hop_of_a_redirect_is_kept_with_its_headers(server, tmp_path):
    (tmp_path / "final.html").write_bytes(PAGE)

    def moved(h):
        h.send_response(301)
        h.send_header("Location", "/final.html")
        h.send_header("Content-Length", "0")
        h.end_headers()

    page = fetch_page(server.route("/old.html", moved))
    assert [e.status for e in page.exchanges] == [301, 200]
    assert page.final_url == server.url("final.html") and page.body == PAGE
    first = page.exchanges[0]
    assert first.header("location") == "/final.html"
    assert ("User-Agent", first.request_headers[1][1]) in first.request_headers
    assert page.final.header("Content-Length") == str(len(PAGE)) and page.final.peer == "127.0.0.1"


def test_http_errors_say_what_to_do(server, tmp_path):
    result = run_cli("add", server.url("nope.html"), archive=tmp_path / "a")
    assert result.returncode == 1
    assert "HTTP 404" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(run_cli("status", "--json", archive=tmp_path / "a").stdout)["articles"][0]["stage"] == "fetch"
