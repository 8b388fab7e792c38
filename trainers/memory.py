"""Give the memory a CPU step frees back to the operating system, not only to the process (glibc).

glibc's malloc serves a block above its mmap threshold with a mapping of its own and unmaps it
on free. The threshold is dynamic, though: each such block freed raises it to that block's size
(up to 32 MB), and from then on blocks below it come from the heap, where freed memory mostly
stays with the process. A step that allocates and frees many blocks of a few MB, as the text
tower does at 1000 classes when checkpointing recomputes its activations, then keeps about twice
the memory it uses: CoOpLAMM at 1000 classes peaked at 5.9 GB resident for 2.7 GB in use
(``python -m benchmarks.step_time``). Fixing the threshold stops the adjustment, so those
blocks are unmapped when freed and the peak is the memory in use.
"""
import ctypes

from lamm.errors import ConfigError

M_MMAP_THRESHOLD = -3  # glibc <malloc.h>
MMAP_THRESHOLD_BYTES = 1 << 20  # blocks of 1 MiB and more go back on free; smaller ones stay fast
MODES = ("auto", "on", "off")


def resolve_return_freed_memory(mode: str, text_checkpointing: bool, device_type: str) -> bool:
    """TRAINER.MEMORY.RETURN_FREED_MEMORY: "auto" = when the text tower checkpoints on the CPU
    (on a GPU the tensors live in CUDA's own allocator, and the host side is small)."""
    if mode not in MODES:
        raise ConfigError(f"TRAINER.MEMORY.RETURN_FREED_MEMORY must be one of {', '.join(MODES)}, got {mode!r}.")
    return mode == "on" or (mode == "auto" and text_checkpointing and device_type == "cpu")


def return_freed_memory_to_os() -> bool:
    """Fix glibc's mmap threshold for this process; False where the C library has no mallopt
    (macOS, Windows, musl ignores it)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
