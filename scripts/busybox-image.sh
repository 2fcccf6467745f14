#!/usr/bin/env bash
# Make a busybox root filesystem tar, for `berth import` (the quickstart's first image when
# ../shared/images is not there): Debian's static busybox (package busybox-static, fetched
# with `apt-get download`; or $BUSYBOX, or a static busybox on PATH) in /bin with every
# applet hard-linked beside it, and the users and groups of Docker Hub's busybox image.
#
#   scripts/busybox-image.sh OUT.tar
#   berth import --change 'CMD ["sh"]' OUT.tar busybox:latest
#
# Exits 3 when no static busybox can be had (no apt-get, no network, none on the host).
set -euo pipefail
out=${1:?usage: $0 OUT.tar}
out=$(realpath -m "$out")

work=$(mktemp -d "${TMPDIR:-/tmp}/busybox-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Whether $1 is a statically linked executable (it runs in an image with nothing else).
is_static() {
    [ -x "$1" ] || return 1
    case $(LC_ALL=C ldd "$1" 2>&1) in  # ldd fails for a static binary: only its words count
        *"not a dynamic executable"* | *"statically linked"*) return 0 ;;
        *) return 1 ;;
    esac
}

bb=
if [ -n "${BUSYBOX:-}" ]; then
    is_static "$BUSYBOX" || { echo "BUSYBOX=$BUSYBOX is not a static executable" >&2; exit 1; }
    bb=$BUSYBOX
elif command -v apt-get >/dev/null; then
    download() {
        (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root busybox-static) >/dev/null 2>&1
    }
    # A fresh machine may have no package lists yet.
    if download || { [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 && download; }; then
        dpkg-deb -x "$work"/busybox-static_*.deb "$work/deb"
        bb=$work/deb/bin/busybox
        [ -x "$bb" ] || bb=$work/deb/usr/bin/busybox
    fi
fi
if [ -z "$bb" ] && command -v busybox >/dev/null && is_static "$(command -v busybox)"; then
    bb=$(command -v busybox)
fi
if [ -z "$bb" ] || ! is_static "$bb"; then
    echo "no static busybox: apt-get download busybox-static failed and none is on PATH" \
        "(set BUSYBOX=/path/to/a/static/busybox)" >&2
    exit 3
fi

root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,var/www,proc,sys,dev,tmp}
chmod 1777 "$root/tmp"
cp "$bb" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln "$root/bin/busybox" "$root/bin/$applet"
done
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
EOF
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out.tmp" .
mv "$out.tmp" "$out"
