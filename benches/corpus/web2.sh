#!/usr/bin/env bash
# Builds the second website benchmark corpus, shaped unlike web (so that nothing is tuned to
# one site): the sqlite.org website as Debian ships it in sqlite3-doc=3.40.1-2+deb12u2
# (bookworm), /usr/share/doc/sqlite3/: ~770 HTML pages, ~170 GIF/PNG/JPEG images, SVG
# syntax diagrams, little CSS and JS. Written to benches/corpus/data/web2/ (a real tree of
# files, gitignored). web.sh does the work (`web.sh --site sqlite`); see `web.sh --help` for
# what is done to the tree and what is printed. SQLITE_DOC_VERSION overrides the pin.
#
# Usage: benches/corpus/web2.sh [--force] [DIR]
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/web.sh" --site sqlite "$@"
