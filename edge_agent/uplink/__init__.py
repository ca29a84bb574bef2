"""The uplink: syncs committed readings and events to the region's MQTT broker, and the
regional collector that receives them.

::

    store outbox ──▶ Outbox (read-only) ──SenML packs──▶ MqttSession (paho, TLS, QoS 1) ──▶ broker
         ▲                                                         │
         └──── outbox cursor (meta) ◀── writer ◀── PUBACK prefix ◀─┘

=================  =================================================================
module             what it holds
=================  =================================================================
``topics``         ``<prefix>/<city>/<lab>/<device>/{readings,events,status,health}``
``senml``          SenML JSON packs (RFC 8428): encoding from outbox rows, decoding
``outbox``         packs of unacknowledged readings and events, sent/acked positions
``connection``     credentials, TLS, MQTT 5 -> 3.1.1 fallback, errors that say what to fix
``pacing``         reconnect backoff with jitter, bandwidth cap
``health``         disk space, CPU temperature
``state``          what the uplink keeps in ``meta`` for ``edge-agent sync status``
``region_status``  every device's retained status and health (``GET /v1/region``)
``forwarder``      :class:`Uplink`, the agent's service
``collector``      :class:`Collector`, ``edge-agent region collect``
=================  =================================================================

See ``README.md`` in this folder for topics, payloads, TLS and troubleshooting. The package
imports nothing by itself, so that ``topics`` (used by the broker's Ansible role) comes without
paho; import what you need from the modules (``from edge_agent.uplink.forwarder import
Uplink``).
"""
