#!/usr/bin/env bash
# `make install` / `make uninstall` into a temporary DESTDIR, with the debug binary that
# `make test` built: every file where its tools look, the man pages render with `man -l`,
# `man conndiag-probe` and `man conndiag.probe` both find the probe page, the installed
# binary runs, and uninstall leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=$(mktemp -d /tmp/conndiag-install.XXXXXX)
warnings=$(mktemp /tmp/conndiag-install-warnings.XXXXXX)
trap 'rm -rf "$dest" "$warnings"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }
prefix=/usr/local
make -s install DESTDIR="$dest" PREFIX="$prefix" CONFIG=debug >/dev/null
root="$dest$prefix"

[ -x "$root/bin/conndiag" ] || fail "no executable bin/conndiag"
"$root/bin/conndiag" --version | head -1 | grep -q "^conndiag $(cat VERSION) " || fail "installed --version"
for f in share/bash-completion/completions/conndiag share/zsh/site-functions/_conndiag \
         share/fish/vendor_completions.d/conndiag.fish; do
    [ -s "$root/$f" ] || fail "missing $f"
done
cmp -s completions/conndiag.bash "$root/share/bash-completion/completions/conndiag" || fail "bash completion differs"
pages=$(ls man/*.1 | wc -l)
[ "$pages" -ge 8 ] || fail "only $pages man pages in man/"
for page in man/*.1; do
    name=$(basename "$page")
    installed="$root/share/man/man1/$name"
    [ -f "$installed" ] || fail "missing man1/$name"
    # Renders, and mentions the version. The only warnings allowed are mdoc's "Empty input
    # line" (swift-argument-parser keeps the blank lines of a discussion).
    out=$(MANWIDTH=80 man -l "$installed" 2>"$warnings") || fail "man -l $name failed"
    other=$(grep -v "mdoc warning: Empty input line" "$warnings" || true)
    [ -z "$other" ] || fail "man -l $name warned: $other"
    echo "$out" | grep -q "conndiag $(cat VERSION)" || fail "$name: no version in the footer"
done
# Both spellings find the probe page through the installed tree's man path.
for name in conndiag.probe conndiag-probe; do
    found=$(MANPATH="$root/share/man" man -w "$name" 2>/dev/null) || fail "man -w $name found nothing"
    MANPATH="$root/share/man" MANWIDTH=80 man "$name" 2>/dev/null | grep -q -- "--targets" || fail "man $name does not show the probe page ($found)"
done
bash -c "source '$root/share/bash-completion/completions/conndiag'" || fail "bash completion does not load"

[ ! -e "$root/share/man/man1/conndiag-1" ] || fail "a stray conndiag-1 link for the root page"
make -s uninstall DESTDIR="$dest" PREFIX="$prefix" >/dev/null
left=$(find "$dest" -type f -o -type l)
[ -z "$left" ] || fail "uninstall left: $left"
echo "check-install: ok ($pages man pages, 3 completions, binary) into a temporary DESTDIR"
