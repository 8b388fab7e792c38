"""Give the memory a CPU step frees back to the operating system, not only to the process (glibc)."""
import ctypes

from lamm.errors import ConfigError

M_MMAP_THRESHOLD = -3  # glibc <malloc.h>
MMAP_THRESHOLD_BYTES = 1 << 20  # blocks of 1 MiB and more go back on free; smaller ones stay fast
MODES = ("auto", "on", "off")


def resolve_return_freed_memory(mode: str, text_checkpointing: bool, device_type: str) -> bool:
    """TRAINER.MEMORY.RETURN_FREED_MEMORY: "auto" = when the text tower checkpoints on the CPU."""
    if mode not in MODES:
        raise ConfigError(f"TRAINER.MEMORY.RETURN_FREED_MEMORY must be one of {', '.join(MODES)}, got {mode!r}.")
    return mode == "on" or (mode == "auto" and text_checkpointing and device_type == "cpu")


def return_freed_memory_to_os() -> bool:
    """Fix glibc's mmap threshold for this process; False where the C library has no mallopt (macOS, Windows)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
