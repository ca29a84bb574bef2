"""``firstrun.sh`` for Raspberry Pi OS Bookworm, and the ``cmdline.txt`` hook that runs it.

Raspberry Pi Imager's mechanism: ``cmdline.txt`` gets ``systemd.run=/boot/firmware/firstrun.sh
systemd.run_success_action=reboot systemd.unit=kernel-command-line.target``, so at the next
boot systemd runs the script as root instead of the normal boot target (the root file system is
mounted, the network is not up), then reboots. The script removes exactly those three words
from ``cmdline.txt`` and deletes itself, so it runs once.

What it does, in order (each step uses Raspberry Pi OS's own helpers where they exist,
``/usr/lib/raspberrypi-sys-mods/imager_custom`` and ``/usr/lib/userconf-pi/userconf``, and
plain Debian commands otherwise, so it also runs in a Debian root):

1. host name (``/etc/hostname``, ``/etc/hosts``);
2. the technicians' user: the image's first user (uid 1000) renamed, else created; no
   password at all (``*``: no password login anywhere), password-less sudo, the device groups;
3. SSH: the public keys in ``authorized_keys``, password and keyboard-interactive logins off,
   ``ssh.service`` enabled;
4. Wi-Fi: a NetworkManager connection with the pre-shared key (never the password), Wi-Fi
   unblocked; the country is already on the kernel command line;
5. locale, time zone, keyboard layout;
6. the agent: ``edge-agent/firstboot.sh stage`` and ``enable-setup`` (see that script);
7. clean-up: the hook leaves ``cmdline.txt``, the script overwrites itself with zeros and
   is deleted (it holds the Wi-Fi key).

A step that fails is logged to ``edge-agent-setup.txt`` on the boot partition and the others
go on; the script always ends with exit 0, so the Pi reboots into a normal system that a
technician can reach (a hung first boot is the worst outcome for a card in a lab).

``firstrun.sh wipe`` runs only the clean-up and the wiping of the boot partition; tests run it
against a copy of the boot tree (``EDGE_KIT_BOOT``).
"""

from __future__ import annotations

import shlex
import uuid
from typing import Final

from .errors import ImageError
from .inputs import Wifi

FIRSTRUN_PATH: Final = "/boot/firmware/firstrun.sh"
HOOK: Final = (
    f"systemd.run={FIRSTRUN_PATH}",
    "systemd.run_success_action=reboot",
    "systemd.unit=kernel-command-line.target",
)
USER_GROUPS: Final = (
    "adm dialout cdrom audio video plugdev games users input render netdev gpio i2c spi "
    "bluetooth sudo"
)
"""Groups of the technicians' user, as Raspberry Pi OS gives its first user; missing ones are
skipped."""


def add_hook(cmdline: str, *, country: str | None, serial_console: bool) -> str:
    """``cmdline.txt`` with the first-run hook (and the Wi-Fi country) added.

    ``serial_console=False`` drops ``console=serial0,...``: a sensor on the Pi's UART must not
    share it with a login console.
    """
    words = cmdline.split()
    if any(word.startswith("systemd.run=") for word in words):
        raise ImageError(
            "cmdline.txt already runs a first-boot script (systemd.run=): the image was "
            "customised before; start again from the downloaded image"
        )
    if not serial_console:
        words = [
            w
            for w in words
            if not w.startswith(("console=serial0", "console=ttyAMA0", "console=ttyS0"))
        ]
    if country is not None:
        words = [w for w in words if not w.startswith("cfg80211.ieee80211_regdom=")]
        words.append(f"cfg80211.ieee80211_regdom={country}")
    return " ".join([*words, *HOOK]) + "\n"


def set_regdom(cmdline: str, *, country: str | None, serial_console: bool) -> str:
    """``cmdline.txt`` with the Wi-Fi country and console changes only (Trixie: no hook)."""
    words = cmdline.split()
    if not serial_console:
        words = [
            w
            for w in words
            if not w.startswith(("console=serial0", "console=ttyAMA0", "console=ttyS0"))
        ]
    if country is not None:
        words = [w for w in words if not w.startswith("cfg80211.ieee80211_regdom=")]
        words.append(f"cfg80211.ieee80211_regdom={country}")
    return " ".join(words) + "\n"


def nm_keyfile(wifi: Wifi) -> str:
    """A NetworkManager keyfile for the lab's Wi-Fi (nm-settings-keyfile(5))."""
    plain = all(c.isalnum() or c in " _.-" for c in wifi.ssid) and wifi.ssid.strip() == wifi.ssid
    ssid = wifi.ssid if plain else ";".join(str(b) for b in wifi.ssid.encode()) + ";"
    connection_id = uuid.uuid5(uuid.NAMESPACE_DNS, f"edge-kit-wifi.{wifi.ssid}")
    lines = [
        "[connection]",
        "id=edge-kit-wifi",
        f"uuid={connection_id}",
        "type=wifi",
        "interface-name=wlan0",
        "autoconnect=true",
        "",
        "[wifi]",
        "mode=infrastructure",
        f"ssid={ssid}",
        *(["hidden=true"] if wifi.hidden else []),
        "",
        "[wifi-security]",
        "key-mgmt=wpa-psk",
        f"psk={wifi.psk}",
        "",
        "[ipv4]",
        "method=auto",
        "",
        "[ipv6]",
        "method=auto",
        "",
    ]
    return "\n".join(lines)


def firstrun_script(
    *,
    hostname: str,
    user: str,
    ssh_keys: tuple[str, ...],
    wifi: Wifi | None,
    locale: str,
    timezone: str,
    keyboard: str | None,
    generator: str,
) -> str:
    """The whole ``firstrun.sh``; every value is shell-quoted."""
    q = shlex.quote
    values = [
        f"NEW_HOSTNAME={q(hostname)}",
        f"NEW_USER={q(user)}",
        f"SSH_KEYS={q(chr(10).join(ssh_keys))}",
        f"LOCALE={q(locale)}",
        f"TIMEZONE={q(timezone)}",
        f"KEYMAP={q(keyboard or '')}",
        f"USER_GROUPS={q(USER_GROUPS)}",
    ]
    if wifi is not None:
        values += [
            f"WIFI_SSID={q(wifi.ssid)}",
            f"WIFI_PSK={q(wifi.psk)}",
            f"WIFI_COUNTRY={q(wifi.country)}",
            f"WIFI_HIDDEN={'1' if wifi.hidden else '0'}",
        ]
        keyfile = nm_keyfile(wifi)
    else:
        values += ["WIFI_SSID=''", "WIFI_PSK=''", "WIFI_COUNTRY=''", "WIFI_HIDDEN=0"]
        keyfile = ""
    body = _TEMPLATE.replace("@VALUES@", "\n".join(values))
    body = body.replace("@NM_KEYFILE@", keyfile.rstrip("\n"))
    return body.replace("@GENERATOR@", generator)


_TEMPLATE: Final = r"""#!/bin/sh
# First boot of a Raspberry Pi OS Bookworm image made by @GENERATOR@.
# Run once by systemd (systemd.run= in cmdline.txt), as root, before the network is up; the Pi
# reboots when it ends. It holds the Wi-Fi key: its last step overwrites this file with zeros
# and deletes it. Progress: edge-agent-setup.txt on this partition (never anything secret).
#
#   firstrun.sh         everything
#   firstrun.sh wipe    only the clean-up: hook out of cmdline.txt, secrets off this partition

@VALUES@

SYS_MODS=/usr/lib/raspberrypi-sys-mods/imager_custom
USERCONF=/usr/lib/userconf-pi/userconf

main() {
    SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
    BOOT=${EDGE_KIT_BOOT:-$(dirname "$SELF")}
    STATUS=$BOOT/edge-agent-setup.txt
    case "${1:-all}" in
    all)
        log "first run: setting up $NEW_HOSTNAME"
        step set_hostname
        step set_user
        step set_ssh
        [ -z "$WIFI_SSID" ] || step set_wifi
        step set_locale
        step set_timezone
        [ -z "$KEYMAP" ] || step set_keymap
        step set_agent
        finish
        ;;
    wipe)
        sh "$BOOT/edge-agent/firstboot.sh" wipe-boot 2>/dev/null || true
        finish
        ;;
    *) echo "usage: firstrun.sh [wipe]" >&2 ;;
    esac
}

log() {
    line="$(date '+%Y-%m-%d %H:%M:%S') edge-agent firstrun: $*"
    echo "$line" >&2
    echo "$line" >>"$STATUS" 2>/dev/null || true
}

step() {
    if "$1"; then
        log "$1: done"
    else
        log "$1: FAILED (the other steps go on)"
    fi
}

set_hostname() {
    if [ -x "$SYS_MODS" ]; then
        "$SYS_MODS" set_hostname "$NEW_HOSTNAME"
        return
    fi
    old=$(tr -d ' \t\r\n' </etc/hostname 2>/dev/null)
    echo "$NEW_HOSTNAME" >/etc/hostname || return 1
    if grep -q '^127\.0\.1\.1' /etc/hosts 2>/dev/null; then
        sed -i "s/^127\.0\.1\.1.*/127.0.1.1\t$NEW_HOSTNAME/" /etc/hosts
    else
        printf '127.0.1.1\t%s\n' "$NEW_HOSTNAME" >>/etc/hosts
    fi
    [ -z "$old" ] || [ "$old" = "$NEW_HOSTNAME" ] || log "host name was $old"
}

set_user() {
    first=$(getent passwd 1000 | cut -d: -f1)
    if [ -x "$USERCONF" ]; then
        "$USERCONF" "$NEW_USER" '' || return 1
    elif [ -n "$first" ] && [ "$first" != "$NEW_USER" ]; then
        usermod -l "$NEW_USER" -d "/home/$NEW_USER" -m "$first" || return 1
        groupmod -n "$NEW_USER" "$first" 2>/dev/null || true
        sudoers=/etc/sudoers.d/010_pi-nopasswd
        [ ! -f "$sudoers" ] || sed -i "s/^$first /$NEW_USER /" "$sudoers"
    elif ! getent passwd "$NEW_USER" >/dev/null; then
        useradd -m -U -s /bin/bash "$NEW_USER" || return 1
    fi
    # No password at all: '*' matches no password, so only SSH keys get in.
    usermod -p '*' "$NEW_USER" || return 1
    for group in $USER_GROUPS; do
        getent group "$group" >/dev/null && usermod -a -G "$group" "$NEW_USER"
    done
    echo "$NEW_USER ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/010_edge-kit-nopasswd
    chmod 0440 /etc/sudoers.d/010_edge-kit-nopasswd
}

set_ssh() {
    home=$(getent passwd "$NEW_USER" | cut -d: -f6)
    [ -n "$home" ] || return 1
    install -d -m 0700 -o "$NEW_USER" -g "$NEW_USER" "$home/.ssh" || return 1
    printf '%s\n' "$SSH_KEYS" >"$home/.ssh/authorized_keys" || return 1
    chown "$NEW_USER:$NEW_USER" "$home/.ssh/authorized_keys"
    chmod 0600 "$home/.ssh/authorized_keys"
    mkdir -p /etc/ssh/sshd_config.d
    cat >/etc/ssh/sshd_config.d/10-edge-kit.conf <<'EOF'
# SSH keys only (edge-agent image customize); sshd takes the first value it reads, and this
# directory is read before the rest of sshd_config.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
EOF
    rm -f /etc/ssh/sshd_config.d/rename_user.conf
    systemctl enable ssh.service >/dev/null 2>&1 || systemctl enable ssh >/dev/null 2>&1
}

set_wifi() {
    if [ -x "$SYS_MODS" ]; then
        if [ "$WIFI_HIDDEN" = 1 ]; then
            "$SYS_MODS" set_wlan -h "$WIFI_SSID" "$WIFI_PSK" "$WIFI_COUNTRY"
        else
            "$SYS_MODS" set_wlan "$WIFI_SSID" "$WIFI_PSK" "$WIFI_COUNTRY"
        fi
        return
    fi
    mkdir -p /etc/NetworkManager/system-connections || return 1
    umask 077
    cat >/etc/NetworkManager/system-connections/edge-kit-wifi.nmconnection <<'EDGE_KIT_NM_EOF'
@NM_KEYFILE@
EDGE_KIT_NM_EOF
    umask 022
    chmod 0600 /etc/NetworkManager/system-connections/edge-kit-wifi.nmconnection
    for file in /var/lib/systemd/rfkill/*:wlan; do
        [ -e "$file" ] && echo 0 >"$file"
    done
    command -v rfkill >/dev/null && rfkill unblock wifi
    return 0
}

set_locale() {
    if [ -f /etc/locale.gen ]; then
        if grep -q "^# *$LOCALE UTF-8" /etc/locale.gen; then
            sed -i "s/^# *\($LOCALE UTF-8\)/\1/" /etc/locale.gen
        elif ! grep -q "^$LOCALE UTF-8" /etc/locale.gen; then
            echo "$LOCALE UTF-8" >>/etc/locale.gen
        fi
        command -v locale-gen >/dev/null && locale-gen >/dev/null
    fi
    echo "LANG=$LOCALE" >/etc/default/locale
}

set_timezone() {
    if [ -x "$SYS_MODS" ]; then
        "$SYS_MODS" set_timezone "$TIMEZONE"
        return
    fi
    if [ ! -f "/usr/share/zoneinfo/$TIMEZONE" ]; then
        log "no zoneinfo for $TIMEZONE (tzdata missing?)"
        return 1
    fi
    ln -sf "/usr/share/zoneinfo/$TIMEZONE" /etc/localtime
    echo "$TIMEZONE" >/etc/timezone
}

set_keymap() {
    if [ -x "$SYS_MODS" ]; then
        "$SYS_MODS" set_keymap "$KEYMAP"
        return
    fi
    if [ -f /etc/default/keyboard ]; then
        sed -i "s/^XKBLAYOUT=.*/XKBLAYOUT=\"$KEYMAP\"/" /etc/default/keyboard
    else
        printf 'XKBMODEL="pc105"\nXKBLAYOUT="%s"\nXKBVARIANT=""\nXKBOPTIONS=""\n' "$KEYMAP" \
            >/etc/default/keyboard
    fi
}

set_agent() {
    if [ ! -f "$BOOT/edge-agent/firstboot.sh" ]; then
        log "no edge-agent folder on the boot partition"
        return 1
    fi
    sh "$BOOT/edge-agent/firstboot.sh" stage || return 1
    sh /var/lib/edge-agent-setup/firstboot.sh enable-setup
}

finish() {
    sed -i -e 's| systemd\.run=[^ ]*||' -e 's| systemd\.run_success_action=[^ ]*||' \
        -e 's| systemd\.unit=kernel-command-line\.target||' "$BOOT/cmdline.txt"
    if ! shred --iterations=0 --zero --remove "$SELF" 2>/dev/null; then
        size=$(wc -c <"$SELF")
        dd if=/dev/zero of="$SELF" bs=1 count="$size" conv=notrunc,fsync 2>/dev/null
        rm -f "$SELF"
    fi
    sync
    log "first run finished; rebooting"
}

main "$@"; exit 0
"""
