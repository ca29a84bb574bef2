"""SD images for lab participants: ``edge-agent image customize`` and ``image batch``.

Takes an official Raspberry Pi OS Lite (64-bit) image, Bookworm or Trixie, and writes a
ready-to-flash image that comes up as a configured, running agent of its lab: host name, a
technicians' user with SSH keys only, Wi-Fi, locale and time zone, the agent config and the
region credentials, and the agent installed at first boot (from embedded aarch64 wheels or a
package index) with its hardened systemd unit enabled. Every secret is wiped from the boot
partition once used. No root needed: the FAT boot partition is edited in place with mtools at
its byte offset, found by reading the MBR partition table.

============================  ====================================================================
module                        what it holds
============================  ====================================================================
:mod:`.partitions`            the MBR partition table reader
:mod:`.fat`                   files on the FAT boot partition through mtools (``-i IMG@@OFFSET``)
:mod:`.ext4`                  files of the ext4 root through debugfs (``IMG?offset=N``)
:mod:`.release`               Bookworm or Trixie, and how that was decided
:mod:`.source`                copy or stream-decompress the input, sparse, with progress
:mod:`.inputs`                host name, user, keys, Wi-Fi (PSK derivation), credentials checks
:mod:`.agent_config`          the lab config made this device's, validated; what it needs
:mod:`.wheels`                the embedded wheel folder's checks
:mod:`.firstrun`              Bookworm: ``firstrun.sh`` and the ``cmdline.txt`` hook
:mod:`.cloudinit`             Trixie: ``user-data``, ``network-config``, ``meta-data``
``firstboot.sh``              on the card: stage secrets, wipe them, install the agent
:mod:`.customize`             one image, start to end
:mod:`.batch`                 many devices from a CSV or TOML table, one image each
============================  ====================================================================

The participant's guide is ``images/README.md``.
"""
