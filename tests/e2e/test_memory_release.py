"""trainers/memory.py in a fresh process: with the switch, memory freed between live blocks leaves the
process, and a training step computes the same bits."""
import subprocess
import sys

import pytest
import torch

from tests.fixtures import REPO_ROOT

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"

# After a 30 MB block is freed glibc serves blocks below 30 MB from its heap; 100 blocks of 8 MB with
# a small block kept after each one leave holes that, once freed, stay in the process.
PROBE = """
import gc, sys, torch
from trainers.memory import return_freed_memory_to_os
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096
if sys.argv[1] == "on":
    assert return_freed_memory_to_os()
block = torch.empty(30_000_000 // 4); del block
start = resident()
big, small = [], []
for _ in range(100):
    big.append(torch.ones(2_000_000))
    small.append(torch.ones(10_000))
del big; gc.collect()
print((resident() - start) / 1e6)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_blocks_leave_the_process_only_with_the_switch():
    kept = {}
    for mode in ("off", "on"):
        result = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=REPO_ROOT, capture_output=True, text=True,
                                check=True)
        kept[mode] = float(result.stdout.strip().splitlines()[-1])
    assert kept["off"] > 400 and kept["on"] < 100, kept  # MB still resident after freeing 800 MB


STEP = """
import sys, torch
from trainers.memory import return_freed_memory_to_os
from lamm.model import Shortcuts
from tests.helpers import training_step
if sys.argv[1] == "on":
    assert return_freed_memory_to_os()
logits, terms, grads, eval_logits, _ = training_step("CoOpLAMM", Shortcuts(), checkpointing=True)
torch.save({"logits": logits, "terms": terms, "grads": grads, "eval_logits": eval_logits}, sys.argv[2])
"""


def test_the_switch_changes_no_number(tmp_path):
    results = {}
    for mode in ("off", "on"):
        path = tmp_path / f"{mode}.pt"
        subprocess.run([sys.executable, "-c", STEP, mode, str(path)], cwd=REPO_ROOT, check=True, capture_output=True)
        results[mode] = torch.load(path)
    off, on = results["off"], results["on"]
    assert torch.equal(off["logits"], on["logits"]) and torch.equal(off["eval_logits"], on["eval_logits"])
    assert off["terms"].keys() == on["terms"].keys() and off["grads"].keys() == on["grads"].keys() and off["grads"]
    assert all(torch.equal(off["terms"][k], on["terms"][k]) for k in off["terms"])
    assert all(torch.equal(off["grads"][k], on["grads"][k]) for k in off["grads"])
