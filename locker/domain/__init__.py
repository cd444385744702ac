"""The locker's domain: plain Python, no hardware, MQTT, HTTP or ORM imports.

Everything that touches the outside world is reached through the `Protocol`
ports of :mod:`locker.domain.ports`.
"""
