"""Keeping the worker's resident memory at what training actually holds.

A training step allocates and frees hundreds of activation tensors whose sizes change with every batch's
sequence lengths. glibc's malloc serves buffers below its (self-raising) mmap threshold from its heaps and keeps
what is freed there, fragmented: on SmolLM2-135M (batch 4 × 350 tokens, CPU) the process grew from 0.8 GB to
4.6 GB over four steps whose own peak was 2.9 GB (bench/train/RESULTS.md). Serving every buffer of 256 KiB or more
with its own mapping, returned to the system when freed, holds the resident set at the step's peak (2.9 GB) and
1.3 GB between steps. CUDA memory is not malloc's and is unaffected.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

#: mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Buffers at least this large get their own mapping; smaller ones (Python objects, small tensors) stay on the heap.
MMAP_THRESHOLD = 256 * 1024

_state: dict[str, bool] = {}


def tune_allocator() -> bool:
    """Sets glibc's mmap and trim thresholds once per process; False where there is no glibc (macOS, musl,
    Windows) or `INTERNALIZE_MALLOC_TUNING=0` asks to leave malloc alone."""
    if "tuned" not in _state:
        tuned = False
        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc" and os.environ.get("INTERNALIZE_MALLOC_TUNING") != "0":
            try:
                mallopt = ctypes.CDLL("libc.so.6").mallopt
                tuned = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, 0) == 1
            except (OSError, AttributeError):
                tuned = False
        _state["tuned"] = tuned
    return _state["tuned"]
