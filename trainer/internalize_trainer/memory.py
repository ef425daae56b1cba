"""Trading CPU time for resident memory in glibc's malloc, when the user asks (`DistillConfig.lean_memory`).

A training step allocates and frees thousands of activation tensors whose sizes change with every batch's sequence
lengths. glibc's malloc keeps what is freed in its heaps, so a CPU run's resident set grows past the step's own
peak: on SmolLM2-135M (batch 4 × 350 tokens, 2 cores) 4.8 GB against a true peak of 2.9 GB. Serving every buffer
of 256 KiB or more with its own mapping, returned to the system when freed, holds the resident set at the true peak
(2.9 GB; 1.3 GB between steps) but makes the train loop about 1.5× slower (29 s instead of 19.5 s), every
allocation paying for fresh pages. Milder settings measured worse trades: a 4 MiB threshold kept 4.9 GB,
malloc_trim after each step 4.1 GB at 1.2× the time, one arena 4.7 GB (bench/train/RESULTS.md). So the default
is glibc's own behaviour, and this is a knob for a machine short of memory. CUDA memory is not malloc's and is
unaffected; the settings hold for the rest of the process.
"""

from __future__ import annotations

import ctypes
import functools
import platform
import sys

#: mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Buffers at least this large get their own mapping; smaller ones (Python objects, small tensors) stay on the heap.
MMAP_THRESHOLD = 256 * 1024

@functools.cache
def lean_allocator() -> bool:
    """Sets glibc's mmap and trim thresholds (once per process); False where there is no glibc (macOS, musl,
    Windows), where the setting cannot be made."""
    if not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
        return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, 0) == 1
    except (OSError, AttributeError):
        return False
