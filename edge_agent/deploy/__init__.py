"""The files that make the agent a system service on a Raspberry Pi, shipped as package data.

The customised SD images (at first boot), the pi-gen stage and the Ansible role install the
very same files, from the installed package, with one command::

    /opt/edge-agent/current/bin/python -m edge_agent.deploy install --root / --admin-user lab

=================================  =================================================  ==========
package file                       installed as                                       what
=================================  =================================================  ==========
``edge-agent.service``             ``/etc/systemd/system/edge-agent.service``          the unit
``sysusers.conf``                  ``/etc/sysusers.d/edge-agent.conf``                 user
``tmpfiles.conf``                  ``/etc/tmpfiles.d/edge-agent.conf``                 /etc dirs
``70-edge-agent-serial.rules``     ``/etc/udev/rules.d/70-edge-agent-serial.rules``    serial
``journald.conf``                  ``/etc/systemd/journald.conf.d/50-edge-agent.conf``  journal
(generated)                        ``/etc/systemd/system/edge-agent.service.d/``
                                   ``groups.conf``                                    groups
=================================  =================================================  ==========

See :mod:`edge_agent.deploy.install` for the steps and ``README.md`` beside this file for the
choices (hardening, groups, devices, journal limits).
"""
