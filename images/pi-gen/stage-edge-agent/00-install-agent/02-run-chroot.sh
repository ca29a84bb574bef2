#!/bin/bash -e
# In the image's chroot: the same installer a customised card runs at first boot, without
# starting anything. The agent stays down until a config arrives in /etc/edge-agent/agent.toml
# (`edge-agent image customize` on this image, or Ansible); then first boot only checks the
# config and starts it, without installing anything.
sh /var/lib/edge-agent-setup/firstboot.sh install --no-start
rm -f /var/lib/edge-agent-setup/done
