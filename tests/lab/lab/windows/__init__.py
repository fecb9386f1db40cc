"""Windows cmdlets of the lab (the /wsman endpoint): registry, files, services, CIM, AD and a few others.

Each family registers its cmdlets on import; ``seed.seed_windows`` gives every host its registry,
files and services when the lab builds its state.
"""

from __future__ import annotations

from .. import topology
from . import ad, cim, files, items, misc, registry, seed, services

__all__ = ["ad", "cim", "files", "items", "misc", "registry", "seed", "services"]

if seed.seed_windows not in topology.SEEDERS:
    topology.SEEDERS.append(seed.seed_windows)
