#!/bin/sh
# Turns a fresh `debootstrap --variant=minbase bookworm` root filesystem into the Debian part of a
# node:<major>-bookworm-slim stand-in: the `node` user of the official image (uid/gid 1000), apt sources as in
# Debian's images, and the slim trimming of Debian's own "-slim" images (no docs but copyrights, no man pages,
# locales, apt lists or caches), kept out of later `apt-get install`s too by the dpkg excludes below.
# Usage: finish-rootfs.sh <rootfs> <suite>. Runs as root; chroots into the rootfs.
set -eu
rootfs="$1"
suite="$2"
[ -x "$rootfs/bin/sh" ] || { echo "finish-rootfs: $rootfs is not a root filesystem" >&2; exit 1; }

chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EXCLUDES'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EXCLUDES
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT

find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$rootfs/usr/share/man/"* "$rootfs/usr/share/groff/"* "$rootfs/usr/share/info/"* \
  "$rootfs/usr/share/lintian/"* "$rootfs/usr/share/linda/"*
rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"*.bin "$rootfs/var/cache/apt/archives/"*.deb \
  "$rootfs/var/cache/debconf/"*-old "$rootfs/var/lib/dpkg/"*-old "$rootfs/var/cache/ldconfig/aux-cache" \
  "$rootfs/var/log/"*.log "$rootfs/var/log/apt/"* "$rootfs/tmp/"* "$rootfs/root/.bash_history"
# Container runtimes mount their own /dev; the image carries none of debootstrap's device nodes.
rm -rf "$rootfs/dev/"*
