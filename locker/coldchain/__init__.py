"""The cold chain at the edges: its configuration, and the sampler that reads the probes.

The rules (alarms, faults, each item's record, holds, dwell) are in the domain:
:mod:`locker.domain.zones` and :mod:`locker.domain.coldchain`. The probes are
read by :mod:`firmware_bridge.w1` (simulated by :mod:`firmware_bridge.w1_sim`).
"""
