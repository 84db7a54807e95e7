#!/usr/bin/env bash
# Makes this Debian 12 machine able to build and run the project's containers with rootful podman,
# without any image registry: installs podman (runc as the runtime) and podman-compose, builds the
# base images debian:12 and debian:12-slim with debootstrap from Debian's archive, and stand-ins for
# the third-party images docker/compose.yml names (redis, haproxy) from Debian's packages, tagged
# with the official names. Images that exist already are kept (--rebuild makes them again).
# Networking: compose service names must resolve inside the stack, which needs podman's netavark
# backend with aardvark-dns. Debian's podman falls back to CNI (no name resolution without the
# dnsname plugin) when it is first used before netavark is installed, and remembers that choice; this
# script installs netavark and aardvark-dns before anything else and selects netavark explicitly in
# containers.conf, so a podman left on CNI by an earlier use is switched over (no reset needed:
# images are kept; containers created under CNI must be recreated). Builds run with
# --network=host, so they reach Debian's archive wherever the host's resolver is.
# Usage: scripts/container-setup.sh [--rebuild]
set -euo pipefail
cd "$(dirname "$0")/.."

rebuild=false
if [[ ${1:-} == --rebuild ]]; then rebuild=true; elif (($# > 0)); then
  echo "usage: scripts/container-setup.sh [--rebuild]" >&2
  exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "container-setup: needs root (rootful podman, debootstrap)" >&2
  exit 2
fi

# 1. Packages: the netavark network stack first, so that podman never starts without it (Debian's
#    podman would otherwise pick CNI and keep it). crun is left out on purpose: it fails on this
#    machine's cgroup setup, runc works.
scripts/install-deps.sh netavark aardvark-dns iptables
scripts/install-deps.sh podman runc podman-compose debootstrap uidmap slirp4netns fuse-overlayfs \
  catatonit

# 2. Engine settings: runc, no default ulimits (raising nofile above the host's hard limit fails
#    inside this sandbox), and the netavark network backend whatever an earlier use left behind.
was_backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null || true)
conf=/etc/containers/containers.conf
marker="# written by image-gateway scripts/container-setup.sh"
if [[ -f $conf ]] && ! grep -qF "$marker" "$conf"; then
  mv "$conf" "$conf.orig"
  echo "container-setup: kept the previous $conf as $conf.orig" >&2
fi
cat >"$conf" <<CONF
$marker
[containers]
default_ulimits = []

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
CONF
backend=$(podman info --format '{{.Host.NetworkBackend}}')
if [[ $backend != netavark ]]; then
  echo "container-setup: podman still uses the '$backend' network backend, where compose service names do not resolve: run 'podman system reset' (deletes all containers and images) and then this script again" >&2
  exit 1
fi
if [[ $was_backend == cni ]]; then
  stale=$(podman ps -aq | wc -l)
  echo "container-setup: podman was on CNI (an earlier use before netavark was installed): switched to netavark in $conf; images kept, $stale container(s) made under CNI need recreating" >&2
fi

have_image() { [[ $rebuild == false ]] && podman image exists "$1"; }

# The Debian mirrors apt uses on this machine (the same archive, reachable from here).
apt_uri() {
  local suite_re=$1 fallback=$2 uri
  uri=$(awk -v re="$suite_re" '
      /^URIs:/ { u = $2 } /^Suites:/ && $0 ~ re { print u; exit }
      /^deb / && $3 ~ re { print $2; exit }' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-$fallback}"
}
mirror=$(apt_uri ' bookworm( |$)' http://deb.debian.org/debian)
security=$(apt_uri 'bookworm-security' http://deb.debian.org/debian-security)

# 3. Base images: one minbase debootstrap, imported as debian:12 and, trimmed like Docker's slim
#    variant (no documentation, man pages or translations), as debian:12-slim.
if ! have_image docker.io/library/debian:12 || ! have_image docker.io/library/debian:12-slim; then
  work=$(mktemp -d /var/tmp/igw-rootfs.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  rootfs=$work/rootfs
  echo "container-setup: debootstrap --variant=minbase bookworm from $mirror" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    exit 1
  }
  cat >"$rootfs/etc/apt/sources.list" <<LIST
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
LIST
  # As in Docker's Debian images: no package cache kept, no translations downloaded.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
APT
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*
  changes=(--change 'CMD ["bash"]'
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  tar -C "$rootfs" --numeric-owner -c . |
    podman import -q "${changes[@]}" - docker.io/library/debian:12 >/dev/null
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
DPKG
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/{man,info,locale,groff,lintian,linda}/*
  tar -C "$rootfs" --numeric-owner -c . |
    podman import -q "${changes[@]}" - docker.io/library/debian:12-slim >/dev/null
  rm -rf "$work"
  trap - EXIT
  echo "container-setup: imported debian:12 and debian:12-slim" >&2
fi

# 4. Stand-ins for the official redis and haproxy images (same commands, ports and paths).
for standin in redis:7 haproxy:2.6; do
  name=${standin%%:*}
  if ! have_image "docker.io/library/$standin"; then
    echo "container-setup: building the $standin stand-in from Debian's package" >&2
    podman build --pull=never --network=host -q -f "docker/standins/$name.Containerfile" \
      -t "docker.io/library/$standin" docker/standins >/dev/null
  fi
done
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'library/(debian|redis|haproxy)' >&2
