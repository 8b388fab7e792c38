"""Each trainer for a few steps on CUDA in fp16, amp and fp32 (run with: python -m pytest -m gpu).

On the CPU, fp16 and amp fall back to fp32, so these paths are only exercised on a GPU: finite
losses, learnable tensors kept in fp32 (CLIP itself in fp16 for fp16), CLIP's weights untouched
by the optimizer and the grad scaler, and a checkpoint that loads back into a new trainer.
"""
import pytest
import torch
from dassl.engine import build_trainer

import train
from tests.fixtures import LEARNING_TRAINERS, tiny_opts, train_args, trainer_config
from trainers.methods import METHODS

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def build(trainer_name, precision, caltech_root, clip_file, output):
    node = METHODS[trainer_name].options_node  # COOP, COCOOP or MAPLE: where PREC lives
    extra = ["TRAINER.MAPLE.PROMPT_DEPTH", "3"] if node == "MAPLE" else []
    opts = tiny_opts(clip_file, *extra, f"TRAINER.{node}.PREC", precision, "USE_CUDA", "True")
    cfg = train.setup_cfg(train_args(caltech_root, output, trainer=trainer_name, config=trainer_config(trainer_name),
                                     opts=opts))
    torch.manual_seed(0)
    return build_trainer(cfg)


def clip_weights(trainer):
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()
            if not k.startswith("prompt_learner.")}


@pytest.mark.parametrize("precision", ["fp16", "amp", "fp32"])
@pytest.mark.parametrize("trainer_name", list(LEARNING_TRAINERS))
def test_a_few_steps_on_cuda(trainer_name, precision, caltech_root, tiny_clip_file, tmp_path):
    trainer = build(trainer_name, precision, caltech_root, tiny_clip_file, tmp_path / "run")
    assert trainer.device.type == "cuda" and trainer.precision == precision
    learner = trainer.model.prompt_learner
    frozen_dtypes = {v.dtype for v in clip_weights(trainer).values() if v.is_floating_point()}
    assert (torch.float16 in frozen_dtypes) == (precision == "fp16")
    before = clip_weights(trainer)
    start = {k: v.detach().clone() for k, v in learner.state_dict().items()}

    trainer.set_model_mode("train")
    trainer.num_batches = len(trainer.train_loader_x)
    trainer.optim.param_groups[0]["lr"] = 0.01  # past the 1e-5 warmup, so the step shows
    for trainer.batch_idx, batch in enumerate(trainer.train_loader_x):
        summary = trainer.forward_backward(batch)
        assert all(torch.isfinite(torch.tensor(v)) for v in summary.values()), summary
        if trainer.batch_idx == 2:
            break

    for name, param in learner.named_parameters():
        if param.requires_grad:
            assert param.dtype == torch.float32 and param.is_cuda, name
            assert torch.isfinite(param).all(), name
    assert any(not torch.equal(v, start[k]) for k, v in learner.state_dict().items())  # it learned
    after = clip_weights(trainer)
    assert all(torch.equal(after[k], before[k]) for k in before)  # CLIP itself is frozen

    trainer.save_model(0, str(tmp_path / "run"))
    restored = build(trainer_name, precision, caltech_root, tiny_clip_file, tmp_path / "other")
    restored.load_model(str(tmp_path / "run"), epoch=1)
    saved, loaded = learner.state_dict(), restored.model.prompt_learner.state_dict()
    assert saved.keys() == loaded.keys()
    for key in saved:
        assert loaded[key].device.type == "cuda", key
        torch.testing.assert_close(loaded[key], saved[key], rtol=0, atol=0)
    for name, param in restored.model.prompt_learner.named_parameters():
        if param.requires_grad:
            assert param.dtype == torch.float32, name
