"""Evidence-grade capture, checked with tools we did not write: py-wacz's `wacz validate`,
warcio's ArchiveIterator, pywb replaying the WARC on loopback, `sha256sum -c`, `openssl
pkeyutl` for the signature and `openssl ts` for an RFC 3161 timestamp from a real TSA
(Debian's `openssl ts -reply` with a test CA made here, behind an HTTP handler on 127.0.0.1).
"""
from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import SEED, run_cli, run_json, seed_paragraphs

BIN = Path(sys.executable).parent


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def steps(path: Path, name: str) -> list[dict]:
    return [s for s in json.loads(path.read_text())["steps"] if s["step"] == name]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def seed(seed_archive, tmp_path_factory) -> dict:
    archive, report = seed_archive
    article = report["articles"][0]
    bundle = tmp_path_factory.mktemp("evidence") / "review"
    result = run_cli("export", "--all", "--out", str(bundle), archive=archive)
    assert result.returncode == 0, result.stderr
    return {"archive": archive, "article": article["id"], "url": article["url"], "video": article["videos"][0]["id"],
            "video_url": article["videos"][0]["url"], "bundle": bundle}


class TSA:
    """A real RFC 3161 timestamp authority on loopback: `openssl ts -reply` with a test CA."""

    def __init__(self, root: Path):
        self.root = root
        self._make_ca()
        tsa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                query = self.rfile.read(int(self.headers["Content-Length"]))
                tsa.requests.append(self.headers.get("Content-Type"))
                answer = tsa.reply(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsa"

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.root, check=True, capture_output=True)

    def _make_ca(self) -> None:
        (self.root / "tsa-ext.cnf").write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
            "extendedKeyUsage=critical,timeStamping\n")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Test TSA CA", "-days", "2",
                      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Test TSA")
        self._openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2",
                      "-out", "tsa.pem", "-days", "2", "-extfile", "tsa-ext.cnf")
        (self.root / "serial").write_text("01\n")
        (self.root / "tsa.cnf").write_text(f"""[ tsa ]
default_tsa = test_tsa
[ test_tsa ]
dir = {self.root}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")

    def reply(self, query: bytes) -> bytes:
        with self.lock:
            (self.root / "query.tsq").write_bytes(query)
            self._openssl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", "query.tsq", "-out", "reply.tsr")
            return (self.root / "reply.tsr").read_bytes()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    t = TSA(tmp_path_factory.mktemp("tsa"))
    yield t
    t.close()


@pytest.fixture(scope="module")
def stamped(seed, tsa, tmp_path_factory) -> Path:
    """The seed bundle, copied and timestamped by the loopback TSA."""
    bundle = tmp_path_factory.mktemp("stamped") / "review"
    shutil.copytree(seed["bundle"], bundle)
    result = run_cli("timestamp", str(bundle), "--tsa", tsa.url)
    assert result.returncode == 0, result.stderr
    return bundle


# ---------------------------------------------------------------- the page as a web archive


def test_page_wacz_is_valid_and_holds_the_exchange_the_video_and_its_metadata(seed):
    from warcio.archiveiterator import ArchiveIterator

    folder = seed["archive"] / "articles" / seed["article"]
    wacz = folder / "page.wacz"
    result = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True)
    assert result.returncode == 0 and "Validation succeeded" in result.stdout, result.stdout + result.stderr

    with zipfile.ZipFile(wacz) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist() if i.filename.startswith("archive/"))
        package = json.loads(z.read("datapackage.json"))
        assert package["wacz_version"] == "1.1.1" and package["mainPageURL"] == seed["url"]
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").splitlines()]
        assert pages[0]["format"] == "json-pages-1.0" and pages[1]["url"] == seed["url"]
        records = {}
        for record in ArchiveIterator(z.open("archive/data.warc")):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            records[(record.rec_type, uri)] = (record, record.content_stream().read())
    original = (folder / "source.html").read_bytes()
    page, body = records[("response", seed["url"])]
    assert body == original, "the WARC's page response is not the archived HTML"
    assert page.http_headers.get_statuscode() == "200"
    assert page.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
    request, _ = records[("request", seed["url"])]
    assert request.http_headers.get_header("User-Agent").startswith("transcript-archiver/")

    media = seed["archive"] / "media" / seed["video"]
    video, video_bytes = records[("response", seed["video_url"])]  # one plain 200: a response record
    assert hashlib.sha256(video_bytes).hexdigest() == sha256(next(media.glob("media.*")))
    assert video.http_headers.get_header("Content-Length") == str(len(video_bytes))
    meta, info = records[("metadata", f"urn:yt-dlp-info:{seed['video_url']}")]
    assert info == (media / "info.json").read_bytes()
    assert meta.rec_headers.get_header("WARC-Refers-To") == video.rec_headers.get_header("WARC-Record-ID")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pywb_replays_the_page_with_its_article_text(seed, tmp_path):
    with zipfile.ZipFile(seed["archive"] / "articles" / seed["article"] / "page.wacz") as z:
        (tmp_path / "data.warc").write_bytes(z.read("archive/data.warc"))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for args in (["init", "review"], ["add", "review", str(tmp_path / "data.warc")]):
        subprocess.run([str(BIN / "wb-manager"), *args], cwd=tmp_path, check=True, capture_output=True, env=env)
    port = _free_port()
    server = subprocess.Popen([str(BIN / "wayback"), "-b", "127.0.0.1", "-p", str(port)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        replay = f"http://127.0.0.1:{port}/review/2030id_/{seed['url']}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(replay, timeout=5) as response:
                    html = response.read().decode("utf-8")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        article = json.loads((seed["archive"] / "articles" / seed["article"] / "article.json").read_text())
        assert article["sentences"][0]["text"] in html and article["sentences"][-1]["text"] in html
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/review/2030id_/{seed['video_url']}", timeout=10) as r:
            assert hashlib.sha256(r.read()).hexdigest() == run_json("show", seed["video"], archive=seed["archive"])["sha256"]
    finally:
        server.terminate()
        server.wait(10)


def test_a_local_article_gets_a_wacz_of_its_bytes_and_capture_can_be_off(seed_archive, tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(seed_archive[0], archive)
    story = tmp_path / "story.md"
    story.write_text("# ISIS Threat Revives\n\n" + "\n\n".join(seed_paragraphs()) + "\n", encoding="utf-8")
    report = run_json("add", str(story), "--video", str(SEED / "narration.mp4"), archive=archive)
    assert report["articles"][0]["status"] == "ok"
    assert not report["articles"][0]["videos"][0]["transcribed"], "the same bytes as the seed video"
    wacz = archive / "articles" / report["articles"][0]["id"] / "page.wacz"
    assert subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True).returncode == 0
    from warcio.archiveiterator import ArchiveIterator

    with zipfile.ZipFile(wacz) as z:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
                   for r in ArchiveIterator(z.open("archive/data.warc"))]
    assert ("resource", story.resolve().as_uri(), story.read_bytes()) in records
    assert any(kind == "resource" and hashlib.sha256(data).hexdigest() == sha256(SEED / "narration.mp4")
               for kind, _, data in records)
    video = archive / "media" / report["articles"][0]["videos"][0]["id"] / "provenance.json"
    assert any(s.get("source_path") == str((SEED / "narration.mp4").resolve()) for s in steps(video, "copy"))

    off = tmp_path / "off.toml"
    off.write_text("[evidence]\ncapture = false\n")
    text = tmp_path / "note.txt"
    text.write_text("A short note about the river crossing.\n\nOfficials said the bridge reopened on Thursday "
                    "after three weeks of repairs.\n")
    quiet = run_json("--config", str(off), "add", str(text), archive=archive)
    folder = archive / "articles" / quiet["articles"][0]["id"]
    assert (folder / "article.json").exists() and not (folder / "page.wacz").exists()
    assert not (folder / "provenance.json").exists()


# ---------------------------------------------------------------- originals and the chain of custody


def test_provenance_is_a_chain_of_hashes_from_the_fetch_to_the_alignment(seed):
    archive = seed["archive"]
    folder = archive / "articles" / seed["article"]
    article = folder / "provenance.json"
    (fetch,) = steps(article, "fetch")
    assert fetch["http"]["final_url"] == seed["url"] and fetch["http"]["status"] == 200
    assert ["Content-Length", str(len((folder / "source.html").read_bytes()))] in fetch["http"]["exchanges"][-1]["headers"]
    assert fetch["output"]["sha256"] == sha256(folder / "source.html") and fetch["host"] == socket.gethostname()
    assert fetch["at"].endswith("Z") and fetch["software"]["transcript-archiver"]
    (parse,) = steps(article, "parse")
    assert parse["parent_sha256"] == fetch["output"]["sha256"] and parse["output"]["sha256"] == sha256(folder / "article.json")
    (capture,) = steps(article, "capture")
    assert capture["output"]["sha256"] == sha256(folder / "page.wacz") and capture["software"]["warcio"]

    media_dir = archive / "media" / seed["video"]
    media = next(media_dir.glob("media.*"))
    assert not media.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), "the original must be read-only"
    video = media_dir / "provenance.json"
    (download,) = steps(video, "download")
    assert download["outputs"][0]["sha256"] == sha256(media) == run_json("show", seed["video"], archive=archive)["sha256"]
    assert download["status"] == 200 and download["final_url"] == seed["video_url"]
    assert {"yt-dlp", "ffmpeg"} <= set(download["software"])
    (decode,) = steps(video, "decode")
    (transcribe,) = steps(video, "transcribe")
    assert decode["parent_sha256"] == sha256(media) and transcribe["parent_sha256"] == decode["output"]["sha256"]
    transcript = archive / transcribe["output"]["path"]
    final = transcribe["output"]["sha256"]
    for rewrite in steps(video, "diarize"):  # who speaks: the transcript rewritten, its parent the one before
        assert rewrite["parent_sha256"] == final and rewrite["output"]["path"] == transcribe["output"]["path"]
        final = rewrite["output"]["sha256"]
    assert final == sha256(transcript)
    assert transcribe["weights"]["sha256"] == sha256(Path(transcribe["weights"]["path"]))
    assert transcribe["model"] == "tiny.en" and transcribe["options"]["beam_size"] == 5
    assert transcribe["software"]["faster-whisper"] and transcribe["host"] == socket.gethostname()
    assert json.loads(transcript.read_text())["provenance"]["host"] == socket.gethostname()
    (align,) = steps(article, "align")
    assert align["parent_sha256"] == [sha256(folder / "article.json"), sha256(transcript)]
    assert align["output"]["sha256"] == sha256(archive / align["output"]["path"])


# ---------------------------------------------------------------- signed bundles, checked by hand


def test_bundle_checks_with_sha256sum_and_openssl_and_names_its_key(seed):
    bundle = seed["bundle"]
    for name in ("manifest.json.sig", "signing-key.pem", "SHA256SUMS", "VERIFY.txt",
                 f"articles/{seed['article']}/page.wacz", f"articles/{seed['article']}/provenance.json",
                 f"videos/{seed['video']}/provenance.json"):
        assert (bundle / name).is_file(), name
    assert len((bundle / "manifest.json.sig").read_bytes()) == 64
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=bundle, capture_output=True, text=True)
    assert sums.returncode == 0 and "manifest.json: OK" in sums.stdout, sums.stdout + sums.stderr
    signature = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "signing-key.pem", "-rawin",
                                "-in", "manifest.json", "-sigfile", "manifest.json.sig"],
                               cwd=bundle, capture_output=True, text=True)
    assert signature.returncode == 0 and "Signature Verified Successfully" in signature.stdout

    shown = run_json("keys", "show", archive=seed["archive"])
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", "signing-key.pem", "-outform", "DER"], cwd=bundle,
                         capture_output=True, check=True).stdout
    assert shown["fingerprint"] == "sha256:" + hashlib.sha256(der).hexdigest()
    assert shown["public_key_pem"] == (bundle / "signing-key.pem").read_text()
    assert oct(os.stat(shown["private_key_file"]).st_mode & 0o777) == "0o600"
    assert shown["fingerprint"] in (bundle / "VERIFY.txt").read_text()
    assert json.loads((bundle / "manifest.json").read_text())["signing_key"]["fingerprint"] == shown["fingerprint"]

    ok = run_cli("--archive", str(seed["archive"]), "verify", str(bundle))
    assert ok.returncode == 0 and ok.stdout.startswith("ok: "), ok.stdout + ok.stderr
    assert f"by Ed25519 key {shown['fingerprint']} (it is the key of" in ok.stdout
    assert "timestamp: none" in ok.stdout
    bare = run_cli("verify", str(bundle))
    assert bare.returncode == 0 and "not compared with an expected key" in bare.stdout
    wacz = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(bundle / f"articles/{seed['article']}/page.wacz")],
                          capture_output=True)
    assert wacz.returncode == 0


def test_a_key_file_from_the_config_signs_the_bundle(seed, tmp_path):
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(tmp_path / "mine.pem")], check=True)
    config = tmp_path / "archiver.toml"
    config.write_text(f'[evidence]\nkey = "{tmp_path / "mine.pem"}"\n')
    out = tmp_path / "review"
    result = run_cli("--config", str(config), "export", "--all", "--out", str(out), archive=seed["archive"])
    assert result.returncode == 0, result.stderr
    mine = run_json("--config", str(config), "keys", "show", archive=seed["archive"])["fingerprint"]
    assert mine != run_json("keys", "show", archive=seed["archive"])["fingerprint"]
    assert run_cli("verify", str(out), "--fingerprint", mine).returncode == 0
    other = run_cli("--archive", str(seed["archive"]), "verify", str(out))  # the archive's own key is another
    assert other.returncode == 1 and other.stdout.startswith(f"signed by another key: {mine}")


# ---------------------------------------------------------------- trusted timestamps


def test_a_real_tsa_timestamps_the_manifest_and_openssl_accepts_it(stamped, tsa, tmp_path):
    assert tsa.requests and tsa.requests[-1] == "application/timestamp-query"
    accepted = subprocess.run(["openssl", "ts", "-verify", "-data", "manifest.json", "-in", "manifest.json.tsr",
                               "-CAfile", str(tsa.root / "ca.pem")], cwd=stamped, capture_output=True, text=True)
    assert accepted.returncode == 0 and "Verification: OK" in accepted.stdout, accepted.stdout + accepted.stderr

    ok = run_cli("verify", str(stamped))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "timestamp: manifest.json existed at 20" in ok.stdout and "CN=Test TSA" in ok.stdout
    assert "chain not checked" in ok.stdout
    chained = run_cli("verify", str(stamped), "--tsa-ca", str(tsa.root / "ca.pem"))
    assert chained.returncode == 0 and f"chain checked against {tsa.root / 'ca.pem'}" in chained.stdout

    (tmp_path / "other").mkdir()
    stranger = TSA(tmp_path / "other")
    try:
        wrong = run_cli("verify", str(stamped), "--tsa-ca", str(stranger.root / "ca.pem"))
        assert wrong.returncode == 1 and wrong.stdout.startswith("timestamp: manifest.json.tsr: the token's signature")
    finally:
        stranger.close()


def test_a_zip_bundle_is_timestamped_in_place(seed, tsa, tmp_path):
    result = run_cli("export", "--all", "--zip", "--no-media", "--out", str(tmp_path / "review"), archive=seed["archive"])
    assert result.returncode == 0, result.stderr
    bundle = tmp_path / "review.zip"
    assert run_cli("timestamp", str(bundle), "--tsa", tsa.url).returncode == 0
    with zipfile.ZipFile(bundle) as z:
        assert "review/manifest.json.tsr" in z.namelist()
    report = json.loads(run_cli("verify", str(bundle), "--json").stdout)
    assert report["ok"] and report["timestamp"]["ok"] and report["signed_by"].startswith("sha256:")
    config = tmp_path / "tsa.toml"
    config.write_text('[evidence]\ntsa = "http://127.0.0.1:9/nothing-listens-here"\n')
    down = run_cli("--config", str(config), "timestamp", str(bundle))
    assert down.returncode == 1 and "cannot reach the TSA" in down.stderr and len(down.stderr.splitlines()) == 1


# ---------------------------------------------------------------- tampering


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _resign(bundle: Path, manifest: bytes) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    (bundle / "manifest.json").write_bytes(manifest)
    (bundle / "manifest.json.sig").write_bytes(key.sign(manifest))
    (bundle / "signing-key.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


TAMPERING = {
    "a changed media byte": (lambda b, s: _flip(b / f"videos/{s['video']}/media.mp4"), "changed: videos/"),
    "a changed web archive": (lambda b, s: _flip(b / f"articles/{s['article']}/page.wacz"), "changed: articles/"),
    "a changed manifest": (lambda b, s: (b / "manifest.json").write_bytes(
        (b / "manifest.json").read_bytes().replace(b'"media_included": true', b'"media_included": false')),
        "signature: manifest.json.sig is not a valid signature"),
    "a changed signature": (lambda b, s: _flip(b / "manifest.json.sig"), "signature: manifest.json.sig is not"),
    "a changed SHA256SUMS": (lambda b, s: (b / "SHA256SUMS").write_text(
        "0" * 64 + (b / "SHA256SUMS").read_text()[64:]), "changed: SHA256SUMS"),
    # the middle of this token is the TSA's certificate, outside what the TSA signed: SHA256SUMS names it
    "a changed timestamp": (lambda b, s: _flip(b / "manifest.json.tsr"), "changed: SHA256SUMS or manifest.json.tsr"),
    "a missing file": (lambda b, s: (b / f"videos/{s['video']}/provenance.json").unlink(), "missing: videos/"),
    "a missing signature": (lambda b, s: (b / "manifest.json.sig").unlink(), "unsigned: no manifest.json.sig"),
    "an added file": (lambda b, s: (b / "assets" / "extra.js").write_text("x"), "unexpected: assets/extra.js"),
    "a key swapped in": (lambda b, s: _resign(b, (b / "manifest.json").read_bytes()), "changed: signing-key.pem"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_verify_names_each_kind_of_tampering(how, seed, stamped, tmp_path):
    bundle = tmp_path / "copy"
    shutil.copytree(stamped, bundle)
    change, expected = TAMPERING[how]
    change(bundle, seed)
    result = run_cli("verify", str(bundle))
    assert result.returncode == 1, result.stdout
    assert any(line.startswith(expected) for line in result.stdout.splitlines()), (how, result.stdout)


def test_a_bundle_resigned_with_another_key_and_a_timestamp_of_other_data(seed, stamped, tmp_path):
    """A forger edits the manifest, re-signs it with their own key and updates every hash:
    the bundle agrees with itself, so only the key the reviewer expects can tell (and the
    timestamp, which was for the real manifest)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    bundle = tmp_path / "forged"
    shutil.copytree(stamped, bundle)
    key = Ed25519PrivateKey.generate()
    (bundle / "signing-key.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["articles"][0]["title"] = "A forged title"
    for entry in manifest["files"]:
        if entry["path"] == "signing-key.pem":
            entry.update(sha256=sha256(bundle / "signing-key.pem"), bytes=(bundle / "signing-key.pem").stat().st_size)
    forged = json.dumps(manifest, indent=1).encode()
    (bundle / "manifest.json").write_bytes(forged)
    (bundle / "manifest.json.sig").write_bytes(key.sign(forged))
    resigned = ("manifest.json", "manifest.json.sig", "signing-key.pem")
    sums = [line for line in (bundle / "SHA256SUMS").read_text().splitlines() if line.split("  ", 1)[1] not in resigned]
    (bundle / "SHA256SUMS").write_text("\n".join(sums + [f"{sha256(bundle / n)}  {n}" for n in resigned]) + "\n")

    alone = run_cli("verify", str(bundle))
    assert alone.returncode == 1
    assert alone.stdout.splitlines() == [alone.stdout.splitlines()[0]]
    assert alone.stdout.startswith("timestamp: manifest.json.tsr: the token is for other data")
    (bundle / "manifest.json.tsr").unlink()
    alone = run_cli("verify", str(bundle))
    assert alone.returncode == 0, "self-consistent: nothing in the bundle alone can tell"
    fingerprint = run_json("keys", "show", archive=seed["archive"])["fingerprint"]
    for args in (["--archive", str(seed["archive"]), "verify", str(bundle)],
                 ["verify", str(bundle), "--key", str(seed["bundle"] / "signing-key.pem")],
                 ["verify", str(bundle), "--fingerprint", fingerprint.upper().replace("SHA256:", "")]):
        result = run_cli(*args)
        assert result.returncode == 1 and result.stdout.startswith("signed by another key: sha256:"), result.stdout


# ---------------------------------------------------------------- a video given on its own


def _wacz_records(wacz: Path) -> dict:
    from warcio.archiveiterator import ArchiveIterator

    result = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True)
    assert result.returncode == 0 and "Validation succeeded" in result.stdout, result.stdout + result.stderr
    with zipfile.ZipFile(wacz) as z:
        return {(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")): r.content_stream().read()
                for r in ArchiveIterator(z.open("archive/data.warc"))}


def test_a_video_given_on_its_own_is_its_own_web_archive(seed, bare_archive, site, tmp_path):
    video = next((bare_archive / "media").iterdir())  # a local file: a resource record of its bytes
    records = _wacz_records(video / "video.wacz")
    local = (SEED / "narration.mp4").resolve().as_uri()
    assert hashlib.sha256(records[("resource", local)]).hexdigest() == sha256(SEED / "narration.mp4")
    assert steps(video / "provenance.json", "capture")[0]["records"] == {str((SEED / "narration.mp4").resolve()): "resource"}

    archive = tmp_path / "archive"  # a URL: the video the seed page showed, now given by itself
    shutil.copytree(seed["archive"], archive)
    report = run_json("add", seed["video_url"], archive=archive)
    assert report["videos"][0]["status"] == "ok" and not report["videos"][0]["transcribed"]
    media = archive / "media" / seed["video"]
    records = _wacz_records(media / "video.wacz")
    assert hashlib.sha256(records[("response", seed["video_url"])]).hexdigest() == sha256(next(media.glob("media.*")))
    assert records[("metadata", f"urn:yt-dlp-info:{seed['video_url']}")] == (media / "info.json").read_bytes()
    captured = steps(media / "provenance.json", "capture")
    assert len(captured) == 1 and captured[0]["output"]["sha256"] == sha256(media / "video.wacz")
    assert run_json("add", seed["video_url"], archive=archive)["videos"][0]["status"] == "ok"
    assert len(steps(media / "provenance.json", "capture")) == 1, "the same media is captured once"

    bundle = tmp_path / "review"
    run_cli("export", "--all", "--out", str(bundle), archive=archive, check=True)
    manifest = json.loads((bundle / "manifest.json").read_text())
    entry = next(v for v in manifest["videos"] if v["id"] == seed["video"])
    assert (bundle / entry["web_archive"]).read_bytes() == (media / "video.wacz").read_bytes()
    assert run_cli("verify", str(bundle), archive=archive).returncode == 0


def test_capture_prints_no_warning_of_the_libraries_it_imports(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("A short note about the river crossing.\n\nOfficials said the bridge reopened on Thursday.\n")
    result = run_cli("add", str(note), archive=tmp_path / "archive")
    assert result.returncode == 0 and any((tmp_path / "archive" / "articles").glob("*/page.wacz"))
    assert "Warning" not in result.stderr, result.stderr  # pyamf's pkg_resources warning reached the terminal
