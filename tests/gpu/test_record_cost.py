"""The record's cost on CUDA (run with: python -m pytest -m gpu): GPU memory is measured and stated."""
import pytest
import torch

from tests.fixtures import run_train, tiny_opts
from trainers.record import read_record

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_a_cuda_run_records_its_gpu_peak(caltech_root, tiny_clip_file, tmp_path):
    run_train("--root", caltech_root, "--seed", "1", "--trainer", "LAMM", "--dataset-config-file",
              "configs/datasets/caltech101.yaml", "--config-file", "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml",
              "--output-dir", str(tmp_path / "run"), *tiny_opts(tiny_clip_file, "USE_CUDA", "True"))
    record = read_record(str(tmp_path / "run"))
    memory, cost = record["peak_memory_gb"], record["cost"]
    assert memory["device"] == "cuda" and memory["train"] > 0 and memory["test"] > 0
    assert cost["gpu_peak_gb"] == max(memory["train"], memory["test"])  # CUDA's allocated peak, not the host's
    assert cost["host_peak_gb"] > 0 and cost["trainable_params"] > 0 and cost["train_images_per_s"] > 0
