"""Suite-wide settings: offline hub, the allocator as the commands set it, hypothesis profiles."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from refmodel import memory  # noqa: E402

memory.keep_freed_memory()  # as every command does (refmodel.cli.run)

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Under NUMBA_DISABLE_JIT=1 the kernels are plain Python: fewer, smaller examples.
settings.register_profile(
    "plain",
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("plain" if os.environ.get("NUMBA_DISABLE_JIT") == "1" else "default")
