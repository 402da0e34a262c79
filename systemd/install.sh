#!/usr/bin/env bash
# Install, upgrade or remove echannel on a gate unit (Debian 12 / Raspberry Pi OS, arm64 or x86_64).
#
#   sudo systemd/install.sh                   install (or repair: running it again changes nothing)
#   sudo systemd/install.sh --upgrade         new application and units; configuration and outbox kept
#   sudo systemd/install.sh --uninstall       remove application and units; configuration and outbox kept
#
# What goes where:
#   /opt/echannel/venv                 the application in its own virtual environment (rebuilt beside the old
#                                      one and swapped in, so a failed upgrade leaves the old one working)
#   /opt/echannel/models               the face models and their manifests (from the source tree's models/)
#   /opt/echannel/share                README, configuration template, this installer's unit files
#   /etc/echannel/gate.toml            from the template, ONLY if absent (root:echannel 0640); never replaced
#   /etc/systemd/system/*.service      the units from systemd/ (enabled, not started on a first install:
#                                      edit gate.toml, run `echannel doctor`, then `systemctl start echannel`)
#   /etc/sysusers.d/echannel.conf      the static user `echannel` in dialout, gpio, video (systemd-sysusers)
#   /etc/udev/rules.d/60-echannel-gpio.rules   /dev/gpiochip* to the gpio group
#   /var/lib/echannel                  the durable outbox (echannel:echannel 0700); never removed
#
# Options:
#   --source DIR         source tree (default: the tree this script is in)
#   --wheel FILE         install this built wheel instead of building one from --source
#   --wheelhouse DIR     take the dependencies from this directory only (offline: pip --no-index); with it,
#                        the build packages for pyscard (swig, libpcsclite-dev, gcc) are not installed
#   --deps-from DIR      do not install dependencies: reuse the site-packages directory DIR (a path line in a
#                        .pth file). For tests and for images that ship the dependencies; pip is taken from DIR.
#   --config-template F  configuration template (default: SOURCE/config/gate.example.toml)
#   --also REQ           also install this pip requirement into the environment (repeatable), e.g.
#                        `--also lgpio` for gpiozero's lgpio pin factory (Raspberry Pi 5)
#   --python PATH        interpreter for the virtual environment (default: python3)
#   --no-apt             do not install system packages
#   --root DIR           install into DIR instead of / (tests, image staging): no apt, no systemctl start/
#                        stop/daemon-reload, no udev reload. The user is created in DIR/etc/passwd and
#                        DIR/etc/group by `systemd-sysusers --root DIR`; units are enabled with
#                        `systemctl --root DIR enable` (offline, only symlinks). Paths inside the virtual
#                        environment are rewritten to their final place (/opt/echannel/venv), so run it with
#                        DIR/opt/echannel/venv/bin/python, not through its scripts.
#
# Python byte code is compiled with --invalidation-mode checked-hash: no timestamps inside, so two installs of
# the same sources give identical files, and the daemon (ProtectSystem=strict) never needs to write .pyc.
set -euo pipefail

APT_PACKAGES=(
  pcscd libpcsclite1      # PC/SC daemon and client library (pyscard)
  libccid                 # USB CCID driver: most contactless readers
  python3-venv python3-pip
  ca-certificates         # for a broker certificate signed by a public CA
)
# pyscard publishes no Linux wheels: pip builds it on the gate unless --wheelhouse brings a built one.
BUILD_PACKAGES=(swig libpcsclite-dev gcc python3-dev)
APP=opt/echannel
UNITS=(echannel.service)  # units this installer owns (others in systemd/ belong to other installers)

die() { echo "install: $*" >&2; exit 1; }
say() { echo "install: $*"; }

mode=install
src=$(cd "$(dirname "$0")/.." && pwd)
root=/
wheel="" wheelhouse="" deps_from="" template="" python=python3 apt=1
also=()
while (($#)); do
  case "$1" in
    --upgrade) mode=upgrade ;;
    --uninstall) mode=uninstall ;;
    --source) src=$(cd "$2" && pwd); shift ;;
    --wheel) wheel=$(realpath "$2"); shift ;;
    --wheelhouse) wheelhouse=$(realpath "$2"); shift ;;
    --deps-from) deps_from=$(realpath "$2"); shift ;;
    --config-template) template=$(realpath "$2"); shift ;;
    --python) python=$2; shift ;;
    --also) also+=("$2"); shift ;;
    --no-apt) apt=0 ;;
    --root) root=$(realpath -m "$2"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
template=${template:-$src/config/gate.example.toml}
R=${root%/}                 # prefix for every path: empty for the real system
live=$([ "$root" = / ] && echo 1 || echo 0)
[ "$(id -u)" -eq 0 ] || [ "$live" = 0 ] || die "run as root (or with --root DIR for a trial install)"
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-315532800}

systemctl_root() { if [ "$live" = 1 ]; then systemctl "$@"; else systemctl --root="$root" "$@"; fi; }

# Numeric ids from the target's own passwd/group (with --root, the host's names mean nothing there).
id_of() { awk -F: -v n="$2" '$1 == n { print $3 }' "$R/etc/$1"; }

install_system_packages() {
  if [ "$apt" = 0 ] || [ "$live" = 0 ]; then return; fi
  local missing=() wanted=("${APT_PACKAGES[@]}")
  [ -z "$wheelhouse" ] && [ -z "$deps_from" ] && wanted+=("${BUILD_PACKAGES[@]}")
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    say "system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_user() {
  install -D -m 0644 "$src/systemd/echannel.sysusers" "$R/etc/sysusers.d/echannel.conf"
  if [ "$live" = 1 ]; then systemd-sysusers /etc/sysusers.d/echannel.conf
  else systemd-sysusers --root="$root" "$R/etc/sysusers.d/echannel.conf" >/dev/null; fi
  install -D -m 0644 "$src/systemd/60-echannel-gpio.rules" "$R/etc/udev/rules.d/60-echannel-gpio.rules"
  if [ "$live" = 1 ] && command -v udevadm >/dev/null; then
    udevadm control --reload && udevadm trigger --subsystem-match=gpio || true
  fi
}

build_wheel() {  # -> path of the wheel in $work
  if [ -n "$wheel" ]; then echo "$wheel"; return; fi
  say "building the wheel from $src" >&2
  local index=()
  [ -n "$wheelhouse" ] && index=(--no-index --find-links "$wheelhouse")  # the build backend comes from there too
  "$python" -m pip wheel -q --no-deps "${index[@]}" -w "$work/wheel" "$src" >&2
  ls "$work"/wheel/echannel-*.whl
}

install_app() {
  local venv="$R/$APP/venv" new="$R/$APP/venv.new" the_wheel
  work=$(mktemp -d)
  trap "rm -rf '$work' '$new'" EXIT  # expanded now: the variables are local
  the_wheel=$(build_wheel)
  rm -rf "$new"
  mkdir -p "$R/$APP"
  # Built beside the current environment (venv.new), its paths rewritten to the final /opt/echannel/venv
  # (see relocate), then swapped in: a failure on the way leaves the running version untouched.
  if [ -n "$deps_from" ]; then
    "$python" -m venv --without-pip "$new"
    local site
    site=$("$new/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$deps_from" > "$site/_echannel_dependencies.pth"
    # pip comes from DEPS; --ignore-installed: a copy of echannel seen there is neither used nor touched.
    "$new/bin/python" -m pip install -q --no-compile --no-deps --ignore-installed --no-warn-script-location \
      "$the_wheel"
  else
    "$python" -m venv "$new"
    local index=()
    [ -n "$wheelhouse" ] && index=(--no-index --find-links "$wheelhouse")
    "$new/bin/python" -m pip install -q --no-compile "${index[@]}" "$the_wheel"
  fi
  if ((${#also[@]})); then
    local index=()
    [ -n "$wheelhouse" ] && index=(--no-index --find-links "$wheelhouse")
    "$new/bin/python" -m pip install -q --no-compile "${index[@]}" "${also[@]}"
  fi
  relocate "$new" "/$APP/venv"
  "$new/bin/python" -m compileall -q -j 0 --invalidation-mode checked-hash -s "$new" -p "/$APP/venv" \
    "$("$new/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null
  rm -rf "$venv.old"
  [ -d "$venv" ] && mv "$venv" "$venv.old"
  mv "$new" "$venv"
  rm -rf "$venv.old"
  rm -rf "$work"
  trap - EXIT
}

relocate() {  # $1: the environment as built, $2: where it will live on the gate
  local built=$1 final=$2 file
  # Everything that names the build path: the scripts' #! lines, activate*, pyvenv.cfg's `command`.
  grep -rlI --null -F "$built" "$built/bin" "$built/pyvenv.cfg" 2>/dev/null | while IFS= read -r -d '' file; do
    sed -i "s#$built#$final#g" "$file"
  done
  # pip's RECORD lists those scripts with their hashes: bring them up to date (pip uninstall/check use them).
  "$built/bin/python" - "$built" <<'PY'
import base64, csv, hashlib, io, sys, sysconfig
from pathlib import Path
site = Path(sysconfig.get_paths()["purelib"])
for record in site.glob("*.dist-info/RECORD"):
    rows = list(csv.reader(io.StringIO(record.read_text())))
    for row in rows:
        path = (site / row[0]).resolve() if row and row[1] else None
        if path and path.is_file() and path.is_relative_to(Path(sys.argv[1]) / "bin"):
            data = path.read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            row[1:3] = [f"sha256={digest}", str(len(data))]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    record.write_text(out.getvalue())
PY
}

install_files() {
  local share="$R/$APP/share"
  rm -rf "$share" "$R/$APP/models"
  install -d -m 0755 "$share" "$R/$APP/models"
  install -m 0644 "$src/README.md" "$share/README.md"
  [ -f "$template" ] && install -m 0644 "$template" "$share/gate.example.toml"
  for unit in "${UNITS[@]}"; do install -m 0644 "$src/systemd/$unit" "$share/$unit"; done
  if [ -d "$src/models" ]; then
    find "$src/models" -maxdepth 1 -type f \( -name '*.toml' -o -name '*.onnx' -o -name '*.onnx.sha256' -o -name '*.md' \) \
      -exec install -m 0644 -t "$R/$APP/models" {} +
  fi
  ln -sfn share/README.md "$R/$APP/README.md"
}

install_config() {
  local gid
  gid=$(id_of group echannel)
  install -d -m 0750 -o 0 -g "$gid" "$R/etc/echannel"
  if [ -e "$R/etc/echannel/gate.toml" ]; then
    say "keeping /etc/echannel/gate.toml"
  elif [ -f "$template" ]; then
    install -m 0640 -o 0 -g "$gid" "$template" "$R/etc/echannel/gate.toml"
    first_config=1
    say "wrote /etc/echannel/gate.toml from the template: edit it before starting the gate"
  else
    say "no configuration template at $template: write /etc/echannel/gate.toml yourself"
  fi
  local uid
  uid=$(id_of passwd echannel)
  install -d -m 0700 -o "$uid" -g "$gid" "$R/var/lib/echannel"
}

install_units() {
  for unit in "${UNITS[@]}"; do install -D -m 0644 "$src/systemd/$unit" "$R/etc/systemd/system/$unit"; done
  if [ "$live" = 1 ]; then systemctl daemon-reload; fi
  systemctl_root enable "${UNITS[@]}" >/dev/null 2>&1
}

uninstall() {
  if [ "$live" = 1 ]; then systemctl stop "${UNITS[@]}" 2>/dev/null || true; fi
  systemctl_root disable "${UNITS[@]}" >/dev/null 2>&1 || true
  for unit in "${UNITS[@]}"; do rm -f "$R/etc/systemd/system/$unit"; done
  rm -rf "$R/$APP" "$R/etc/sysusers.d/echannel.conf" "$R/etc/udev/rules.d/60-echannel-gpio.rules"
  if [ "$live" = 1 ]; then systemctl daemon-reload; fi
  # Kept: /etc/echannel (configuration, trust store, keys), /var/lib/echannel (the outbox: events not yet
  # delivered), and the user, so that those files keep a meaningful owner for a later reinstall.
  say "removed the application and units; kept /etc/echannel, /var/lib/echannel and the user echannel"
}

first_config=0
case "$mode" in
  uninstall) uninstall; exit 0 ;;
  upgrade) [ -d "$R/$APP/venv" ] || die "nothing to upgrade at /$APP (install first)" ;;
esac
install_system_packages
install_user
install_app
install_files
install_config
install_units
if [ "$live" = 1 ] && [ "$mode" = upgrade ]; then
  systemctl try-restart "${UNITS[@]}"
fi
if [ "$first_config" = 1 ]; then
  say "next: edit /etc/echannel/gate.toml, run \`sudo -u echannel /$APP/venv/bin/echannel doctor --config /etc/echannel/gate.toml\`, then \`systemctl start echannel\`"
fi
say "$mode done ($("$R/$APP/venv/bin/python" -c 'import edge; print("echannel", edge.__version__)'))"
