#!/bin/sh
# First boot of a Raspberry Pi whose SD image was made by `edge-agent image customize`:
# bring the agent's config and credentials into the system, wipe them from the boot
# partition, and install and start the agent.
#
#   firstboot.sh stage             move agent.toml and the credentials from the boot partition
#                                  to /etc/edge-agent (root only, mode 0600), keep this script,
#                                  its settings and the wheels in /var/lib/edge-agent-setup, then
#                                  wipe every secret from the boot partition (wipe-boot)
#   firstboot.sh enable-setup [--start]
#                                  install and enable edge-agent-setup.service, which runs
#                                  `install` at the next boot (now, with --start)
#   firstboot.sh install [--wheels DIR] [--no-start]
#                                  create the virtual environment, install the agent (from the
#                                  wheels, else from the package index), its service files and
#                                  user, check its config as the agent's user, start it
#   firstboot.sh wipe-boot         only the wiping: overwrite the secret files on the boot
#                                  partition with zeros, delete them, put the secret-free
#                                  network-config in place, remove the edge-agent folder
#
# Raspberry Pi OS Bookworm runs stage and enable-setup from firstrun.sh (systemd.run= in
# cmdline.txt, before the network is up); Trixie runs them from cloud-init's runcmd. `install`
# runs from edge-agent-setup.service once the system is up (after the network when the agent
# comes from the package index), and again at every boot until it succeeded.
#
# Settings come from firstboot.env beside this script (written by the customiser, no secrets).
# EDGE_KIT_BOOT (default: the boot partition this script is on, else /boot/firmware) and
# EDGE_KIT_ROOT (default: empty, the running system) let tests and image builds point the
# script at other trees. Progress goes to stderr and to edge-agent-setup.txt on the boot
# partition, which a card reader shows; nothing secret is ever logged.

main() {
    set -u
    SELF_DIR=$(cd "$(dirname "$0")" && pwd)
    ROOT=${EDGE_KIT_ROOT:-}
    if [ -n "${EDGE_KIT_BOOT:-}" ]; then
        BOOT=$EDGE_KIT_BOOT
    elif [ "$(basename "$SELF_DIR")" = edge-agent ] && [ -f "$SELF_DIR/../cmdline.txt" ]; then
        BOOT=$(cd "$SELF_DIR/.." && pwd)
    else
        BOOT=/boot/firmware
    fi
    SETUP_DIR=$ROOT/var/lib/edge-agent-setup
    STATUS=$BOOT/edge-agent-setup.txt
    if [ -f "$SELF_DIR/firstboot.env" ]; then
        . "$SELF_DIR/firstboot.env"
    fi

    command=${1:-}
    [ $# -gt 0 ] && shift
    case "$command" in
    stage) stage ;;
    enable-setup) enable_setup "$@" ;;
    install) install_agent "$@" ;;
    wipe-boot) wipe_boot ;;
    *)
        echo "usage: firstboot.sh stage | enable-setup [--start] | install [--wheels DIR] [--no-start] | wipe-boot" >&2
        return 2
        ;;
    esac
}

log() {
    line="$(date '+%Y-%m-%d %H:%M:%S') edge-agent setup: $*"
    echo "$line" >&2
    if [ -d "$BOOT" ] && [ -w "$BOOT" ]; then
        echo "$line" >>"$STATUS" 2>/dev/null || true
    fi
}

fail() {
    log "FAILED: $*"
    exit 1
}

# Overwrite a file with zeros, flush, delete. On an SD card the flash controller may keep old
# blocks elsewhere; at the file-system level nothing of the secret remains.
wipe_file() {
    [ -f "$1" ] || return 0
    if ! shred --iterations=0 --zero --remove "$1" 2>/dev/null; then
        size=$(wc -c <"$1")
        dd if=/dev/zero of="$1" bs=1 count="$size" conv=notrunc,fsync 2>/dev/null
        rm -f "$1"
    fi
}

wipe_boot() {
    src=$BOOT/edge-agent
    wipe_file "$src/agent.toml"
    if [ -d "$src/credentials" ]; then
        for file in "$src/credentials"/* "$src/credentials"/.[!.]*; do
            wipe_file "$file"
        done
    fi
    if [ -f "$src/network-config.clean" ]; then
        wipe_file "$BOOT/network-config"
        mv "$src/network-config.clean" "$BOOT/network-config"
    fi
    rm -rf "$src"
    sync
    log "secrets wiped from the boot partition"
}

stage() {
    src=$BOOT/edge-agent
    if [ ! -d "$src" ]; then
        log "nothing to stage: no $src"
        return 0
    fi
    umask 077
    # Root only until `install` has created the agent's user and hands them over.
    mkdir -p "$ROOT/etc/edge-agent/credentials" || fail "cannot create $ROOT/etc/edge-agent"
    chmod 0700 "$ROOT/etc/edge-agent" "$ROOT/etc/edge-agent/credentials"
    if [ -f "$src/agent.toml" ]; then
        cp "$src/agent.toml" "$ROOT/etc/edge-agent/agent.toml" || fail "cannot copy agent.toml"
        chmod 0600 "$ROOT/etc/edge-agent/agent.toml"
    fi
    if [ -d "$src/credentials" ]; then
        for file in "$src/credentials"/*; do
            [ -f "$file" ] || continue
            cp "$file" "$ROOT/etc/edge-agent/credentials/" || fail "cannot copy $(basename "$file")"
            chmod 0600 "$ROOT/etc/edge-agent/credentials/$(basename "$file")"
        done
    fi
    umask 022
    mkdir -p "$SETUP_DIR"
    cp "$src/firstboot.sh" "$src/firstboot.env" "$SETUP_DIR/" || fail "cannot copy the installer"
    if [ -d "$src/wheels" ]; then
        rm -rf "$SETUP_DIR/wheels"
        cp -R "$src/wheels" "$SETUP_DIR/wheels" || fail "cannot copy the wheels"
    fi
    sync
    log "agent config and credentials moved to /etc/edge-agent"
    wipe_boot
}

enable_setup() {
    unit=$ROOT/etc/systemd/system/edge-agent-setup.service
    mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
    if [ -d "$SETUP_DIR/wheels" ]; then
        order="After=local-fs.target"
    else
        order="Wants=network-online.target
After=network-online.target"
    fi
    cat >"$unit" <<EOF
[Unit]
Description=Install the Digitallabor Edge Kit agent (first boot)
ConditionPathExists=/var/lib/edge-agent-setup/firstboot.sh
ConditionPathExists=!/var/lib/edge-agent-setup/done
$order

[Service]
Type=oneshot
ExecStart=/bin/sh /var/lib/edge-agent-setup/firstboot.sh install
TimeoutStartSec=1h
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
    ln -sf ../edge-agent-setup.service "$ROOT/etc/systemd/system/multi-user.target.wants/edge-agent-setup.service"
    log "edge-agent-setup.service enabled"
    if [ "${1:-}" = --start ] && [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl start --no-block edge-agent-setup.service
        log "edge-agent-setup.service started"
    fi
}

apt_install() {
    missing=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
    done
    [ -n "$missing" ] || return 0
    log "installing system packages:$missing"
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2; }
}

install_agent() {
    wheels=""
    start=yes
    while [ $# -gt 0 ]; do
        case "$1" in
        --wheels) wheels=$2; shift 2 ;;
        --no-start) start=no; shift ;;
        *) fail "unknown option $1" ;;
        esac
    done
    [ -n "$wheels" ] || { [ -d "$SELF_DIR/wheels" ] && wheels=$SELF_DIR/wheels; }
    [ -z "$ROOT" ] || fail "install runs on the target system itself (or chrooted into it), not with EDGE_KIT_ROOT"
    version=${EDGE_KIT_VERSION:?firstboot.env sets EDGE_KIT_VERSION}
    requirement=${EDGE_KIT_REQUIREMENT:-digitallabor-edge-kit==$version}
    venv=/opt/edge-agent/versions/$version
    log "installing agent $version ($requirement) from ${wheels:-the package index}"

    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
        apt_install python3-venv || fail "python3-venv is missing and could not be installed (no network?)"
    fi
    if [ -n "${EDGE_KIT_APT_PACKAGES:-}" ]; then
        # shellcheck disable=SC2086
        apt_install $EDGE_KIT_APT_PACKAGES || log "could not install $EDGE_KIT_APT_PACKAGES (no network?); drivers that need them will say so"
    fi

    if [ -x "$venv/bin/edge-agent" ] && [ "$("$venv/bin/edge-agent" --version 2>/dev/null)" = "edge-agent $version" ]; then
        log "agent $version already installed in $venv"
    else
        rm -rf "$venv"
        mkdir -p /opt/edge-agent/versions
        python3 -m venv --system-site-packages "$venv" || fail "cannot create the virtual environment $venv"
        if [ -n "$wheels" ]; then
            set -- --no-index --find-links "$wheels"
        elif [ -n "${EDGE_KIT_INDEX_URL:-}" ]; then
            set -- --index-url "$EDGE_KIT_INDEX_URL"
        else
            set --
        fi
        if ! "$venv/bin/python" -m pip install --no-input --disable-pip-version-check --no-cache-dir \
            "$@" "$requirement" >&2; then
            rm -rf "$venv"
            fail "pip could not install $requirement; see above (offline without --wheels?)"
        fi
    fi
    ln -sfn "versions/$version" /opt/edge-agent/current

    set --
    if [ -n "${EDGE_KIT_ADMIN_USER:-}" ] && getent passwd "$EDGE_KIT_ADMIN_USER" >/dev/null; then
        set -- --admin-user "$EDGE_KIT_ADMIN_USER"
    fi
    /opt/edge-agent/current/bin/python -m edge_agent.deploy install --root / "$@" >&2 \
        || fail "installing the service files failed"

    if [ -f /etc/edge-agent/agent.toml ]; then
        if command -v runuser >/dev/null; then
            as_agent="runuser -u edge-agent --"
        else
            as_agent="setpriv --reuid=edge-agent --regid=edge-agent --init-groups"
        fi
        # shellcheck disable=SC2086
        if $as_agent /opt/edge-agent/current/bin/edge-agent config check /etc/edge-agent/agent.toml >&2; then
            log "config check passed (as user edge-agent)"
        else
            fail "the agent config /etc/edge-agent/agent.toml does not pass 'edge-agent config check'"
        fi
    else
        log "no /etc/edge-agent/agent.toml: the agent will not start until one is put there"
    fi

    rm -f /etc/systemd/system/multi-user.target.wants/edge-agent-setup.service
    rm -rf "$SETUP_DIR/wheels"
    touch "$SETUP_DIR/done"
    if [ "$start" = yes ] && [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        udevadm control --reload-rules 2>/dev/null || true
        udevadm trigger --subsystem-match=tty 2>/dev/null || true
        systemctl restart systemd-journald.service 2>/dev/null || true
        if systemctl start edge-agent.service; then
            log "edge-agent.service running: agent $version is up"
        else
            fail "edge-agent.service did not start; see: journalctl -u edge-agent"
        fi
    else
        log "agent $version installed and enabled; it starts at the next boot"
    fi
}

main "$@"; exit $?
