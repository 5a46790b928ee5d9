"""How many CPU threads a process that trains uses: its share of the machine, not every core.

torch sizes its thread pools to every core of the machine by default. Several such processes on one
machine (two studies at once, or Ray units side by side) then run more threads than there are cores,
and OpenMP threads that spin while they wait for work take the cores from the threads that have work:
four training processes on two cores took 15-45 s a step instead of about 1.5 s (issue 12).

The share has to reach every pool that sizes itself to the machine:
  * torch's intra-op pool (OpenMP, MKL): `torch.set_num_threads`, and `OMP_NUM_THREADS` /
    `MKL_NUM_THREADS` for libraries that read the environment when they load;
  * torch's inter-op pool: `torch.set_num_interop_threads`, which torch accepts once per process and
    only before that pool has started;
  * the Rust thread pool of Hugging Face's fast tokenizers: `RAYON_NUM_THREADS`, read when the pool
    starts (the first batch it tokenises).
The environment is only read by libraries not loaded yet, so `thread_environment` is applied before
torch is imported (the `run` command imports it late; a Ray worker gets it in its runtime_env).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")


def thread_environment(threads: int) -> dict[str, str]:
    """The environment variables that size every thread pool a training process starts."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    return {name: str(threads) for name in THREAD_VARIABLES}


def threads_from_environment(environ: Mapping[str, str] = os.environ) -> int | None:
    """`OMP_NUM_THREADS` as a user set it (a positive whole number), or None: torch reads it for its
    intra-op pool itself, and the same share is then given to the pools that ignore it."""
    value = environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def share_threads(threads: int, environ: MutableMapping[str, str] = os.environ) -> None:
    """Give this process `threads` threads: the environment now (for what loads later) and torch's
    pools. Call it before the first tokenisation or torch operation."""
    environ.update(thread_environment(threads))
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        # torch allows it once per process, before any inter-op work: a Ray worker that runs a second
        # unit, or a caller that already set it, keeps the pool it has.
        pass
