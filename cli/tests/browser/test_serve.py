#!/usr/bin/env python3
"""`quire serve` in a real browser (issue 24): headless Chromium from Debian's `chromium`
package, driven by Playwright's Python package (pinned in requirements.txt) through
`executable_path` -- never `playwright install` -- with `--no-sandbox` (CI runs as root).

The site is generated here: pages in two folders, CSS, an image, a script, links between
them and a page with non-ASCII text. The test opens the library page, types three letters
and sees suggestions, opens one and checks that its text is visible and its images loaded
(naturalWidth > 0), runs a search and clicks a result, follows the random-article link,
walks every link of the site checking that no request failed (network errors and HTTP
errors) and that the console has no error, goes back, and saves a screenshot of each page.

Usage: test_serve.py [--quire target/debug/quire] [--out target/serve-screenshots]
                     [--chromium /usr/bin/chromium]
"""

import argparse
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[3]


def png(w, h, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def page(title, css, body):
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{title}</title><link rel="stylesheet" href="{css}"></head>\n'
            f'<body><main>{body}</main></body></html>\n')


def write_site(d: Path):
    files = {
        "index.html": page(
            "Kitchen garden", "style.css",
            '<h1>Kitchen garden</h1><p class="lead">Notes on growing tomatoes, herbs and '
            'coffee, from seed to cup.</p><p><img src="img/logo.png" alt="A red square" '
            'width="96" height="96"></p><ul><li><a href="guide/tomatoes.html">Growing tomatoes</a></li>'
            '<li><a href="guide/herbs.html">Herbs on a balcony</a></li>'
            '<li><a href="journal/">The journal</a></li></ul>'
            '<p id="js-check">The script has not run.</p><script src="js/site.js"></script>'),
        "style.css": ("body{font-family:Georgia,'Times New Roman',serif;max-width:40rem;"
                      "margin:2rem auto;padding:0 1rem;line-height:1.6;color:#222;background:#fdfcf8}"
                      "h1{font-family:system-ui,sans-serif;color:#2d5a27}a{color:#2d5a27}"
                      "img{border-radius:6px}.lead{font-size:1.15rem;color:#555}\n"),
        "js/site.js": ("document.getElementById('js-check').textContent = "
                       "'The script ran.';\n"),
        "guide/tomatoes.html": page(
            "Growing tomatoes", "../style.css",
            '<h1>Growing tomatoes</h1><p>Tomatoes want sunshine, warm soil and steady '
            'watering. Pinch out the side shoots and tie the stems to a cane.</p>'
            '<p><img src="../img/logo.png" alt="A red square" width="48" height="48"></p>'
            '<p><a href="herbs.html">Herbs</a> · <a href="../index.html">Home</a></p>'),
        "guide/herbs.html": page(
            "Herbs on a balcony", "../style.css",
            '<h1>Herbs on a balcony</h1><p>Basil loves the company of tomatoes; thyme and '
            'rosemary like dry soil.</p><p><a href="tomatoes.html">Tomatoes</a> · '
            '<a href="../journal/caf%C3%A9-z%C3%BCrich.html">A coffee in Zürich</a></p>'),
        "journal/index.html": page(
            "The journal", "../style.css",
            '<h1>The journal</h1><ul><li><a href="café-zürich.html">Café in Zürich</a></li>'
            '<li><a href="../guide/tomatoes.html">Back to the tomatoes</a></li></ul>'),
        "journal/café-zürich.html": page(
            "Café in Zürich", "../style.css",
            '<h1>Café in Zürich</h1><p>Grüße aus Zürich! Der Kaffee war gut, die Tomaten '
            'auch. 東京の喫茶店で飲んだコーヒーも美味しかった。Ελληνικός καφές.</p>'
            '<p><img src="../img/logo.png" alt="A red square" width="48" height="48"></p>'
            '<p><a href="./">The journal</a></p>'),
    }
    for name, text in files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    (d / "img").mkdir(exist_ok=True)
    (d / "img" / "logo.png").write_bytes(png(24, 24, (200, 50, 40)))


class Server:
    def __init__(self, quire, archive):
        self.proc = subprocess.Popen(
            [quire, "serve", str(archive), "--addr", "127.0.0.1:0"],
            stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        m = re.search(r"http://(\S+?)/?$", line.strip())
        if not m:
            raise SystemExit(f"the server did not start: {line!r}")
        self.base = f"http://{m.group(1)}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        if code != 0:
            raise SystemExit(f"the server ended with {code} after SIGTERM")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quire", default=str(ROOT / "target" / "debug" / "quire"))
    ap.add_argument("--out", default=str(ROOT / "target" / "serve-screenshots"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()

    tmp = Path(tempfile.mkdtemp(prefix="quire-browser-"))
    site = tmp / "site"
    write_site(site)
    archive = tmp / "garden.quire"
    subprocess.run([a.quire, "pack", str(site), "-o", str(archive), "-q", "--index", "full",
                    "--language", "eng", "--title", "Kitchen garden",
                    "--description", "Growing tomatoes, herbs and coffee: a small website "
                    "packed from its directory."], check=True)
    server = Server(a.quire, archive)
    base = server.base
    problems = []
    shots = []

    def shot(pg, name):
        path = out / f"{len(shots) + 1:02d}-{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        shots.append(path)

    def check(cond, what):
        if not cond:
            problems.append(what)
            print("FAIL:", what, file=sys.stderr)

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=a.chromium, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            ctx = browser.new_context(viewport={"width": 1100, "height": 760})
            pg = ctx.new_page()
            pg.on("requestfailed", lambda r: problems.append(
                f"request failed: {r.url}: {r.failure}"))
            pg.on("response", lambda r: r.status >= 400 and problems.append(
                f"HTTP {r.status}: {r.url}"))
            pg.on("console", lambda m: m.type == "error" and problems.append(
                f"console error: {m.text}"))
            pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))

            # The library page.
            pg.goto(base + "/")
            check(pg.title() == "Library", f"library title: {pg.title()!r}")
            check(pg.get_by_text("Kitchen garden").first.is_visible(), "archive title shown")
            check(pg.get_by_text("Growing tomatoes, herbs and coffee").is_visible(),
                  "description shown")
            shot(pg, "library")

            # Three letters, and suggestions appear.
            box = pg.locator("form.search input[name=q]").first
            box.click()
            box.press_sequentially("caf", delay=80)
            sug = pg.locator(".suggestions a").first
            sug.wait_for(state="visible", timeout=5000)
            texts = pg.locator(".suggestions a").all_inner_texts()
            check(any("café" in t.lower() for t in texts), f"suggestions for 'caf': {texts}")
            shot(pg, "suggestions")

            # Open one: its text is visible and its image loaded.
            sug.click()
            pg.wait_for_load_state("load")
            check("/garden/journal/caf" in pg.url, f"suggestion opened {pg.url}")
            check(pg.get_by_text("Grüße aus Zürich").is_visible(), "article text visible")
            widths = pg.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
            check(widths and all(w > 0 for w in widths), f"images loaded: {widths}")
            shot(pg, "article")

            # A search, then a result.
            pg.goto(base + "/")
            box = pg.locator("form.search input[name=q]").first
            box.fill("tomatoes sunshine")
            # As a person would: the suggestions' request ends before Enter (a navigation
            # would abort it, and the test counts aborted requests as failures).
            pg.wait_for_load_state("networkidle")
            box.press("Enter")
            pg.wait_for_load_state("load")
            check("/-/search/garden" in pg.url, f"search page: {pg.url}")
            results = pg.locator("ol.results li a.title")
            check(results.count() >= 1, "search results")
            check(pg.locator(".snippet b").count() >= 1, "marked words in snippets")
            shot(pg, "results")
            first = results.first.get_attribute("href")
            results.first.click()
            pg.wait_for_load_state("load")
            check(urlsplit(pg.url).path == first, f"result opened {pg.url}, not {first}")
            check(pg.get_by_text("Tomatoes want sunshine").is_visible(), "result text visible")
            shot(pg, "result")

            # Going back returns to the results.
            pg.go_back()
            pg.wait_for_load_state("load")
            check("/-/search/garden" in pg.url, f"back: {pg.url}")

            # The random-article link.
            pg.goto(base + "/")
            pg.get_by_role("link", name="Random article").first.click()
            pg.wait_for_load_state("load")
            check(pg.url.endswith(".html") and "/garden/" in pg.url, f"random: {pg.url}")
            shot(pg, "random")

            # The archive's home is its index.html: the script ran, the image loaded.
            pg.goto(base + "/garden/")
            pg.wait_for_load_state("load")
            check(pg.get_by_text("The script ran.").is_visible(), "the site's script ran")
            shot(pg, "home")

            # Walk every link, from the library page.
            todo, seen = [base + "/"], set()
            while todo and len(seen) < 200:
                url = todo.pop(0)
                if url in seen:
                    continue
                seen.add(url)
                resp = pg.goto(url)
                pg.wait_for_load_state("load")
                check(resp is not None and resp.ok, f"walk: {url}: {resp and resp.status}")
                if "text/html" not in (resp.headers.get("content-type", "") if resp else ""):
                    continue
                widths = pg.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
                check(all(w > 0 for w in widths), f"{url}: images {widths}")
                name = urlsplit(pg.url).path.strip("/").replace("/", "_") or "library"
                if "/-/random/" not in url:
                    shot(pg, "walk-" + re.sub(r"[^A-Za-z0-9._-]", "_", name)[:60])
                for href in pg.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                    href = href.split("#")[0]
                    if href.startswith(base) and href not in seen and "/-/random/" not in href:
                        todo.append(href)
            check(len(seen) >= 12, f"walked {len(seen)} pages")
            print(f"walked {len(seen)} pages")
            browser.close()
    finally:
        server.stop()
    print(f"{len(shots)} screenshots in {out}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print("browser test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
