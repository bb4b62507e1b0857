"""glibc's allocator, told to keep freed memory for the next batch: a process setting made before any tensor.

Torch-free, so that the CLI can set it before it knows which command runs.
"""

from __future__ import annotations

import ctypes
import os

# glibc's mallopt parameters (malloc.h) and the values nnlab sets: blocks up to 32 MiB (a batch of 10,000
# showers' cells is 20 MB) come from the heap, and up to 256 MiB of freed heap is kept for the next batch
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
RETAINED_HEAP_BYTES, HEAP_BLOCK_BYTES = 256 << 20, 32 << 20
_memory = {"retained": False}  # set once per process by retain_freed_memory


def retain_freed_memory() -> bool:
    """Have glibc keep freed memory for reuse rather than hand it back to the OS at once; True if set.

    By default glibc maps each block above 128 KiB-32 MiB afresh and trims the heap's free top, so
    the temporaries a batch frees (1-20 MB each) are faulted in again, page by page, in the next
    batch: ~3,000 page faults a CaloGAN generator batch of 1,024, 55,000 a simulator chunk of
    10,000 showers, 11 and 1,100 with these settings
    (docs/benchmarks.md#freed-memory-kept-for-the-next-batch-every-task; PyTorch's CPU tuning guide
    swaps the allocator for the same reason). Only on glibc, and not where the user set
    glibc's own MALLOC_*_ variables; the process keeps at most 256 MiB more than it uses.
    """
    if not _glibc():
        return False
    if any(os.environ.get(name) for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")):
        return False
    mallopt = ctypes.CDLL(None).mallopt  # returns 1 where it took the value
    mmap_set = mallopt(M_MMAP_THRESHOLD, HEAP_BLOCK_BYTES)
    trim_set = mallopt(M_TRIM_THRESHOLD, RETAINED_HEAP_BYTES)
    _memory["retained"] = bool(mmap_set and trim_set)
    return _memory["retained"]


def freed_memory_retained() -> bool:
    """Whether `retain_freed_memory` took effect in this process: env.json records it, as it moves timings."""
    return _memory["retained"]


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not POSIX, or a C library other than glibc
        return False
