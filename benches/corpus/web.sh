#!/usr/bin/env bash
# Builds a website benchmark corpus: a documentation site as Debian ships it, as a real tree
# of files (HTML with its CSS, JS, images, fonts...), for `quire pack DIR` and the peers
# (libzim from the same files, zimwriterfs on the same directory).
#
#   web   (default)      the Python 3.11 documentation: Debian python3.11-doc=3.11.2-6+deb12u9
#                        (bookworm-security), /usr/share/doc/python3.11/html/ (Sphinx: HTML,
#                        _static CSS/JS/images, _images, _sources as .txt, searchindex.js...)
#                        -> benches/corpus/data/web/
#   web2  (--site sqlite, what web2.sh runs)
#                        the sqlite.org website: Debian sqlite3-doc=3.40.1-2+deb12u2
#                        (bookworm), /usr/share/doc/sqlite3/ (HTML, many GIF/PNG/JPEG
#                        images, SVG syntax diagrams) -> benches/corpus/data/web2/
#
# What is done to the tree as Debian installs it (the same for both sites):
# - symbolic links Debian put in place of files of other packages (python's _static/jquery.js
#   and _static/underscore.js point into /usr/share/javascript/) are replaced by the real
#   files, taken from those packages at pinned versions (libjs-jquery=3.6.1+dfsg+~3.5.14-1,
#   libjs-underscore=1.13.4~dfsg+~1.11.4-3), downloaded beside the site; a link that stays
#   unresolved is an error;
# - files Debian gzipped (dh_compress, or debian/rules: python's whatsnew/changelog.html,
#   which index pages link as changelog.html) are gunzipped back to their names;
# - sqlite only: the site's server-side full-text search (the `search` CGI script and
#   search.d/, a Tcl script and its 9.8 MB FTS database) is left out: it is a search index,
#   and this round measures without indexes; no page loads it as a sub-resource.
# Then every HTML page's relative links are checked (src=, href=, srcset=, CSS url(...) of
# the .css files): a missing sub-resource (an image, script, stylesheet, font) is an error;
# missing navigation links (<a href>) are counted and the first few printed.
# Printed at the end: counts and bytes by kind (HTML, CSS, JS, images, fonts, other), total
# bytes, median and p90 file size.
#
# The tree is written to DIR.partial and renamed to DIR when complete (gitignored: never
# committed). Needs bash, apt-get (Debian's package index: run `apt-get update` once),
# dpkg-deb and Python's standard library; nothing is installed. Idempotent: does nothing when
# DIR exists (pass --force to rebuild). Version overrides, if the archive dropped a pin (the
# counts printed will then differ): PYTHON_DOC_VERSION, SQLITE_DOC_VERSION, JQUERY_VERSION,
# UNDERSCORE_VERSION.
#
# Usage: benches/corpus/web.sh [--site python|sqlite] [--force] [DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
site=python
force=0
out=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --site) site="$2"; shift 2 ;;
        --force) force=1; shift ;;
        -h | --help) sed -n '2,43p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "web.sh: unknown option $1" >&2; exit 2 ;;
        *) out="$1"; shift ;;
    esac
done

case "$site" in
    python)
        name=web
        pkgs=("python3.11-doc=${PYTHON_DOC_VERSION:-3.11.2-6+deb12u9}"
            "libjs-jquery=${JQUERY_VERSION:-3.6.1+dfsg+~3.5.14-1}"
            "libjs-underscore=${UNDERSCORE_VERSION:-1.13.4~dfsg+~1.11.4-3}")
        tree=usr/share/doc/python3.11/html
        exclude=""
        ;;
    sqlite)
        name=web2
        pkgs=("sqlite3-doc=${SQLITE_DOC_VERSION:-3.40.1-2+deb12u2}")
        tree=usr/share/doc/sqlite3
        exclude="search search.d"
        ;;
    *) echo "web.sh: unknown --site $site (python or sqlite)" >&2; exit 2 ;;
esac
out="${out:-$here/data/$name}"

if [[ -d "$out" && $force -eq 0 ]]; then
    echo "$name: $out already exists ($(find "$out" -type f | wc -l) files); nothing to do (--force rebuilds)"
    exit 0
fi
mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp" "$out.partial"' EXIT

echo "$name: downloading ${pkgs[*]} from Debian into $tmp"
if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "${pkgs[@]}" >/dev/null); then
    echo "$name: could not download ${pkgs[*]}. Run 'apt-get update' first; if a version is" >&2
    echo "$name: gone from the archive, pick one from 'apt-cache policy PACKAGE' and rerun with" >&2
    echo "$name: the override named in 'benches/corpus/web.sh --help' (the counts will differ)." >&2
    exit 4
fi
for deb in "$tmp"/*.deb; do
    dpkg-deb -x "$deb" "$tmp/x"
done

rm -rf "$out.partial"
"$python" - "$name" "$tmp/x" "$tree" "$out.partial" "$exclude" <<'PY'
import gzip
import html.parser
import os
import re
import shutil
import statistics
import sys
import urllib.parse

name, root, tree, out, exclude = sys.argv[1:6]
exclude = set(exclude.split())
src = os.path.join(root, tree)


def resolve(path):
    """The real file behind a symlink inside the extracted packages (absolute targets are
    taken inside `root`, as if the packages were installed there), or None."""
    for _ in range(40):
        if not os.path.islink(path):
            return path if os.path.isfile(path) else None
        target = os.readlink(path)
        if os.path.isabs(target):
            path = os.path.join(root, target.lstrip("/"))
        else:
            path = os.path.normpath(os.path.join(os.path.dirname(path), target))
    return None


copied = links = gunzipped = 0
unresolved = []
for d, dirs, files in os.walk(src):
    rel_dir = os.path.relpath(d, src)
    if rel_dir == ".":
        dirs[:] = [x for x in dirs if x not in exclude]
        files = [x for x in files if x not in exclude]
    dirs.sort()
    os.makedirs(os.path.join(out, rel_dir), exist_ok=True)
    for f in sorted(files):
        p = os.path.join(d, f)
        real = p
        if os.path.islink(p):
            real = resolve(p)
            links += 1
            if real is None:
                unresolved.append(f"{os.path.relpath(p, src)} -> {os.readlink(p)}")
                continue
        dest = os.path.join(out, rel_dir, f)
        if f.endswith(".gz"):
            with gzip.open(real, "rb") as fi, open(dest[:-3], "wb") as fo:
                shutil.copyfileobj(fi, fo)
            gunzipped += 1
        else:
            shutil.copyfile(real, dest)
        copied += 1
if unresolved:
    sys.exit(f"{name}: symbolic links not resolved by the downloaded packages: {unresolved}")
print(f"{name}: {copied} files; {links} symbolic links replaced by the files they name; "
      f"{gunzipped} gzipped files restored; left out: {sorted(exclude) or 'nothing'}")

# ---- every relative link of every page
SUB_ATTRS = {("img", "src"), ("script", "src"), ("link", "href"), ("source", "src"),
             ("img", "srcset"), ("source", "srcset"), ("iframe", "src"), ("embed", "src"),
             ("object", "data"), ("video", "src"), ("audio", "src"), ("input", "src"),
             ("video", "poster"), ("body", "background"), ("td", "background"),
             ("table", "background")}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sub, self.nav = [], []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if not v:
                continue
            if (tag, k) in SUB_ATTRS:
                if k == "srcset":
                    self.sub.extend(c.strip().split()[0] for c in v.split(",") if c.strip())
                elif tag == "link" and not any(
                    a == "rel" and (b or "").lower() in ("stylesheet", "icon", "shortcut icon",
                                                          "preload", "apple-touch-icon")
                    for a, b in attrs
                ):
                    self.nav.append(v)
                else:
                    self.sub.append(v)
            elif k == "href":
                self.nav.append(v)
            elif k == "style":
                self.sub.extend(CSS_URL.findall(v))


def target(page, url):
    """The file a relative URL of `page` names, relative to the tree, or None if it is not a
    link into the tree (absolute URL, fragment only, mailto:, javascript:, data:...)."""
    u = urllib.parse.urlsplit(url.strip())
    if u.scheme or u.netloc or not u.path:
        return None
    p = urllib.parse.unquote(u.path)
    base = "" if p.startswith("/") else os.path.dirname(page)
    p = os.path.normpath(os.path.join(base, p.lstrip("/")))
    if url.split("?")[0].split("#")[0].endswith("/") or p == ".":
        p = os.path.join(p, "index.html") if p != "." else "index.html"
    return p


files = {}
for d, _, fs in os.walk(out):
    for f in fs:
        p = os.path.join(d, f)
        files[os.path.relpath(p, out).replace(os.sep, "/")] = os.path.getsize(p)
missing_sub, missing_nav, checked = {}, {}, 0
for key in sorted(files):
    path = os.path.join(out, key)
    if key.endswith((".html", ".htm")):
        parser = Links()
        with open(path, encoding="utf-8", errors="replace") as f:
            parser.feed(f.read())
        groups = ((parser.sub, missing_sub), (parser.nav, missing_nav))
    elif key.endswith(".css"):
        with open(path, encoding="utf-8", errors="replace") as f:
            groups = ((CSS_URL.findall(f.read()), missing_sub),)
    else:
        continue
    for urls, missing in groups:
        for url in urls:
            t = target(key, url)
            if t is None:
                continue
            checked += 1
            if t.startswith("..") or t not in files:
                missing.setdefault(t, key)
print(f"{name}: {checked} relative links checked: {len(missing_sub)} missing sub-resources, "
      f"{len(missing_nav)} missing link targets")
for t, page in list(missing_nav.items())[:8]:
    print(f"{name}:   link target missing: {t} (first linked from {page})")
if missing_sub:
    for t, page in list(missing_sub.items())[:20]:
        print(f"{name}:   SUB-RESOURCE MISSING: {t} (first linked from {page})", file=sys.stderr)
    sys.exit(f"{name}: {len(missing_sub)} sub-resources are missing")

# ---- what the tree holds
KINDS = (
    ("HTML", (".html", ".htm", ".xhtml")),
    ("CSS", (".css",)),
    ("JS", (".js", ".mjs")),
    ("images", (".png", ".gif", ".jpg", ".jpeg", ".svg", ".ico", ".webp", ".bmp")),
    ("fonts", (".woff", ".woff2", ".ttf", ".otf", ".eot")),
)


def kind(key):
    k = key.lower()
    return next((n for n, exts in KINDS if k.endswith(exts)), "other")


by = {}
for key, size in files.items():
    by.setdefault(kind(key), []).append(size)
for k in [n for n, _ in KINDS] + ["other"]:
    v = by.get(k, [])
    print(f"{name}:   {k:7} {len(v):6} files {sum(v):12,} B" + (
        f" (median {statistics.median(v):,.0f} B)" if v else ""))
sizes = sorted(files.values())
total = sum(sizes)
other = sorted({os.path.splitext(k)[1] or "(none)" for k in files if kind(k) == "other"})
print(f"{name}: other = {', '.join(other)}")
print(f"{name}: {len(sizes)} files, {total:,} B ({total / 1e6:.2f} MB); median file "
      f"{statistics.median(sizes):,.0f} B, p90 {sizes[int(0.9 * (len(sizes) - 1))]:,} B, "
      f"largest {sizes[-1]:,} B; mean key {statistics.mean(len(k.encode()) for k in files):.1f} B")
PY
if [[ -n "$(find "$out.partial" -type l)" ]]; then
    echo "$name: symbolic links left in the tree" >&2
    exit 5
fi
mv "$out.partial" "$out"
echo "$name: wrote $out"
