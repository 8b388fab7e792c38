"""Time a training step and a test pass of LAMM, CoOpLAMM and MaPLeLAMM with the shortcuts on and off,
and with the text tower's activation checkpointing on and off.

    python -m benchmarks.step_time                      # the full grid, CPU: about 25 minutes
    python -m benchmarks.step_time --classes 100 --methods LAMM --steps 3
    python -m benchmarks.step_time --classes 1000 --methods LAMM CoOpLAMM --only on   # checkpointing on / off

CLIP is a random-weight model of the real ViT-B/16 shape (no download); ``--backbone`` takes any
other: ``open_clip:<arch>`` alone is a random model of that architecture's real shape (e.g.
``open_clip:ViT-B-16-SigLIP2``, its tokenizer built here), and with ``--weights`` (or an OpenAI
CLIP name or file) the real weights are loaded as the trainers load them. Each case runs in its
own process so that its peak memory can be measured; a case whose estimated memory does not fit
in what the machine has free is skipped with a message. "off" computes what the official code
computes: every prompt padded to 77 tokens, the original prompts re-encoded at every step, text
features recomputed for every test batch. "on+ckpt" is "on" with TRAINER.MEMORY.TEXT_CHECKPOINTING on
(the official computation is never checkpointed).

Printed per case: median training-step time, the image encoder's forward pass over the same
batch (the floor no prompt learner can beat), a test pass, peak memory, and on/off ratios.

CoCoOp (``--methods CoCoOp``, not in the default grid) encodes every class's prompt for every
image, so its memory grows with the batch. Each of its cases runs at each ``--cocoop-batches``
(default 1 and 2); the difference in peak memory is the memory per image, from which the largest
batch that fits in ``--budget-gb`` (24) is estimated, instead of trying large batches:

    python -m benchmarks.step_time --methods CoCoOp --classes 100 --only on
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

METHODS = ("LAMM", "CoOpLAMM", "MaPLeLAMM")
PER_IMAGE_PROMPTS = ("CoCoOp",)  # methods whose text features are per image (not in the default grid)
WORDS = ("red", "spotted", "north", "sea", "mountain", "house", "sports", "car", "golden", "retriever", "water",
         "lily", "grand", "piano", "snow", "leopard", "paper", "towel", "steel", "bridge", "fire", "truck")
# Saved activations per token, per layer, in units of the width, for a transformer forward with
# autograd (LayerNorms, q/k/v, attention, the 4x MLP), calibrated on the LAMM "off" runs at 100
# and 400 classes (5.6 and 13.2 GB peak): used to skip cases that cannot fit.
ACTIVATIONS_PER_TOKEN_LAYER = 16


def class_names(count):
    """Deterministic names of 1-3 words (2-5 BPE tokens), like real class lists."""
    return [" ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(1 + i % 3)) + f" {i}" for i in range(count)]


def vit_b16_clip():
    from clip.model import CLIP

    return CLIP(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768, vision_patch_size=16,
                context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8,
                transformer_layers=12)


def estimated_bytes(method, classes, shortcuts_on, batch, bytes_per_value=4, checkpointing=False):
    """Rough peak memory of one step: CLIP's weights plus the text graph(s) kept for backward."""
    tokens = 20 if shortcuts_on else 77
    graphs = 1 if (shortcuts_on or method == "LAMM") else 2  # official: y_i keeps a graph unless frozen
    # Checkpointed: each layer keeps its input only, and one layer's activations live at a time.
    values_per_token = 12 + ACTIVATIONS_PER_TOKEN_LAYER if checkpointing else 12 * ACTIVATIONS_PER_TOKEN_LAYER
    text = graphs * classes * tokens * 512 * values_per_token * bytes_per_value
    if method in PER_IMAGE_PROMPTS:  # one prompt set per image
        text = batch * classes * tokens * 512 * values_per_token * bytes_per_value
    image = batch * 197 * 768 * 12 * ACTIVATIONS_PER_TOKEN_LAYER * bytes_per_value if method == "MaPLeLAMM" else 0
    return 1.2e9 + text + image


def available_bytes(device):
    import torch

    if device == "cuda":
        free, _ = torch.cuda.mem_get_info()
        return free
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return float("inf")


DEFAULT_BACKBONE = "ViT-B/16"


def make_backbone(backbone, weights, precision):
    """The backbone of a case (``lamm.backbones.Backbone``), frozen, in ``precision``."""
    from lamm.backbones import as_backbone, load_backbone

    if backbone == DEFAULT_BACKBONE and not weights:
        clip_model = vit_b16_clip()
        made = as_backbone(clip_model.half() if precision == "fp16" else clip_model.float())
    elif backbone.startswith("open_clip:") and not weights:
        import tempfile

        from tools.synthetic.tiny_open_clip import random_backbone

        made = random_backbone(backbone[len("open_clip:"):], tempfile.mkdtemp(prefix="step_time_tokenizer_"))
        made.to_precision(precision)
    else:
        made = load_backbone(backbone, weights).to_precision(precision)
    for param in made.model.parameters():
        param.requires_grad_(False)
    return made


def build(method, classes, shortcuts_on, device, precision, checkpointing=False, backbone=DEFAULT_BACKBONE,
          weights=""):
    import torch

    from lamm.cocoop_model import ConditionalPromptedCLIP
    from lamm.cocoop_prompts import ConditionalPromptLearner
    from lamm.maple_prompts import MultiModalPromptLearner
    from lamm.model import OFFICIAL, PromptedCLIP, Shortcuts
    from lamm.prompt_learner import PromptLearner

    torch.manual_seed(0)
    clip_model = make_backbone(backbone, weights, precision)
    names = class_names(classes)
    common = dict(context_init="a photo of a", label_tokens="shortest", dtype=clip_model.dtype,
                  truncate_after_eot=shortcuts_on and clip_model.prompt_shortcuts_exact,
                  text_tokenizer=clip_model.tokenizer)
    model_class = PromptedCLIP
    if method == "CoCoOp":  # CoCoOp's own prompt: 4 vectors from "a photo of a", no labels
        common.pop("label_tokens")
        learner = ConditionalPromptLearner(clip_model.token_embedding, names, image_dim=clip_model.visual.output_dim,
                                           **common)
        model_class = ConditionalPromptedCLIP
    elif method == "MaPLeLAMM":
        vit = clip_model.vision_transformer
        if not clip_model.maple_compatible:
            raise SystemExit(f"MaPLeLAMM needs a ViT in OpenAI's layout; {backbone} has none")
        depths = len(clip_model.text_tower.transformer.resblocks), len(vit.transformer.resblocks)
        learner = MultiModalPromptLearner(clip_model.token_embedding, names, prompt_depth=min(9, *depths),
                                          vision_width=vit.conv1.out_channels, text_layers=depths[0],
                                          vision_layers=depths[1], n_ctx=2, **common)
    else:
        learner = PromptLearner(clip_model.token_embedding, names, learn_context=method == "CoOpLAMM", **common)
    model = model_class(clip_model, learner, shortcuts=Shortcuts() if shortcuts_on else OFFICIAL,
                         text_checkpointing=checkpointing)
    model.input_size = clip_model.preprocess["size"]
    return model.to(device)


class ResidentPeak:
    """The peak resident memory of this process while in the ``with`` block, sampled every
    millisecond (Linux). Unlike ru_maxrss it excludes what building the model needed before."""

    def __init__(self):
        self.peak = 0

    @staticmethod
    def resident():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self):
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, self.resident())

    def __enter__(self):
        import threading

        self.peak = self.resident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.resident())


def synchronize(device):
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def run_case(method, classes, shortcuts_on, device, precision, steps, batch, test_batches, checkpointing=False,
             return_freed_memory="auto", backbone=DEFAULT_BACKBONE, weights=""):
    """One case in this process; returns its timings and peak memory."""
    import torch

    from lamm.hierarchical_loss import HierarchicalLoss
    from trainers.memory import resolve_return_freed_memory, return_freed_memory_to_os

    per_image = method in PER_IMAGE_PROMPTS
    # CoCoOp's memory per image is read from resident memory, which must then be the memory in use
    if per_image or resolve_return_freed_memory(return_freed_memory, checkpointing, device):  # as the trainers do
        return_freed_memory_to_os()

    model = build(method, classes, shortcuts_on, device, precision, checkpointing, backbone, weights)
    learner = model.prompt_learner
    optimizer = torch.optim.SGD([p for p in learner.parameters() if p.requires_grad], lr=0.002, momentum=0.9)
    # CoCoOp: cross-entropy only
    with_labels = learner.label_embeddings is not None
    criterion = HierarchicalLoss(lambda_wc=1 / 16) if with_labels else HierarchicalLoss(0.0, 0.0, 0.0)
    images = torch.randn(batch, 3, *model.input_size, device=device)
    labels = torch.arange(batch, device=device) % classes

    with torch.no_grad():
        model.encode_images(images)  # warm-up of the kernels
        times = []
        for _ in range(steps):
            synchronize(device)
            start = time.perf_counter()
            model.image_encoder(images.type(model.dtype))
            synchronize(device)
            times.append(time.perf_counter() - start)
    image_forward = statistics.median(times)

    step_times = []
    sampler = ResidentPeak() if per_image and device == "cpu" else None
    if sampler:
        sampler.__enter__()
    for _ in range(steps):
        synchronize(device)
        start = time.perf_counter()
        outputs = model.forward_features(images)
        terms = criterion(outputs, labels)
        optimizer.zero_grad()
        criterion.total(terms).backward()
        optimizer.step()
        synchronize(device)
        step_times.append(time.perf_counter() - start)
    if sampler:
        sampler.__exit__()

    test_images = images[: batch // test_batches]
    synchronize(device)
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(test_batches):
            model(test_images)
    synchronize(device)
    test_pass = time.perf_counter() - start

    if device == "cuda":
        peak = torch.cuda.max_memory_allocated()
    elif sampler:
        peak = sampler.peak
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"step": statistics.median(step_times), "image_forward": image_forward, "test_pass": test_pass, "peak": peak}


def run_in_subprocess(args, method, classes, shortcuts_on, checkpointing=False, batch=None):
    command = [sys.executable, "-m", "benchmarks.step_time", "--one-case", json.dumps(
        [method, classes, shortcuts_on, args.device, args.precision, args.steps, batch or args.batch,
         min(args.test_batches, batch or args.batch),
         checkpointing, args.return_freed_memory, args.backbone, args.weights])]
    result = subprocess.run(command, capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["killed"])[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


# (label, shortcuts on, text checkpointing) of the settings each case runs in.
SETTINGS = (("on", True, False), ("on+ckpt", True, True), ("off", False, False))


def largest_batch(peaks, budget_bytes):
    """{batch: peak bytes} at two or more batches -> (bytes per image, base bytes, the largest batch
    whose linear estimate base + batch * per_image fits in ``budget_bytes``)."""
    (b1, p1), (b2, p2) = sorted(peaks.items())[0], sorted(peaks.items())[-1]
    per_image = (p2 - p1) / (b2 - b1)
    base = p1 - b1 * per_image
    return per_image, base, (int((budget_bytes - base) // per_image) if per_image > 0 else None)


def run_per_image_case(args, method, classes, label, shortcuts_on, checkpointing):
    """A CoCoOp case at each of ``--cocoop-batches``: the smallest batch's result, with the memory
    per image and the largest batch estimated to fit in the budget."""
    peaks, first = {}, None
    for batch in sorted(args.cocoop_batches):
        need = estimated_bytes(method, classes, shortcuts_on, batch, checkpointing=checkpointing)
        if need > args.max_gb * 1e9:
            print(f"{method:<10} {classes:>7} {label:>9}   batch {batch} skipped: needs about {need / 1e9:.1f} GB, "
                  f"over --max-gb {args.max_gb}")
            break
        result = run_in_subprocess(args, method, classes, shortcuts_on, checkpointing, batch=batch)
        if "error" in result:
            print(f"{method:<10} {classes:>7} {label:>9}   batch {batch} failed: {result['error']}")
            break
        peaks[batch] = result["peak"]
        first = first or dict(result, batch=batch)
        print(f"{method:<10} {classes:>7} {label:>9} {result['step']:>8.2f} {result['image_forward']:>11.2f} "
              f"{result['step'] / result['image_forward']:>8.2f} {result['test_pass']:>7.2f} "
              f"{result['peak'] / 1e9:>8.2f}   batch {batch}", flush=True)
    if first and len(peaks) >= 2:
        per_image, base, fits = largest_batch(peaks, args.budget_gb * 1e9)
        first.update(per_image=per_image, base=base, largest_batch=fits, peaks={str(b): p for b, p in peaks.items()})
        print(f"{'':<10} {classes:>7} {label:>9}   {per_image / 1e9:.3f} GB per image, base {base / 1e9:.2f} GB: "
              f"largest batch in {args.budget_gb:g} GB about {fits}", flush=True)
    return first


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS + PER_IMAGE_PROMPTS)
    parser.add_argument("--classes", nargs="+", type=int, default=[100, 400, 1000])
    parser.add_argument("--steps", type=int, default=2, help="timed training steps per case (median)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--test-batches", type=int, default=2, help="the test pass splits the batch into this many")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "fp16"))
    parser.add_argument("--only", choices=("on", "off"), help="run only the shortcuts on or off")
    parser.add_argument("--text-checkpointing", choices=("on", "off", "both"), default="both",
                        help="with the shortcuts on: text-tower activation checkpointing on, off or both (default)")
    parser.add_argument("--return-freed-memory", choices=("auto", "on", "off"), default="auto",
                        help="TRAINER.MEMORY.RETURN_FREED_MEMORY (auto: with checkpointing on the CPU)")
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE,
                        help="ViT-B/16 (random, default), open_clip:<arch> (random of its real shape without "
                             "--weights), or an OpenAI CLIP name or file")
    parser.add_argument("--weights", default="", help="MODEL.BACKBONE.WEIGHTS of an open_clip backbone")
    parser.add_argument("--cocoop-batches", nargs="+", type=int, default=[1, 2],
                        help="CoCoOp: the batches each case runs at (memory per image from their difference)")
    parser.add_argument("--budget-gb", type=float, default=24.0,
                        help="CoCoOp: the memory the largest batch must fit in")
    parser.add_argument("--max-gb", type=float, default=4.0,
                        help="CoCoOp: skip a batch whose estimated memory is above this (a shared machine)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--one-case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    import torch

    if args.one_case:
        print(json.dumps(run_case(*json.loads(args.one_case))))
        return
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    print(f"device: {args.device} ({torch.cuda.get_device_name() if args.device == 'cuda' else os.cpu_count()} "
          f"{'GPU' if args.device == 'cuda' else 'CPU cores'}), {args.precision}, batch {args.batch}, "
          f"backbone {args.backbone}{' ' + args.weights if args.weights else ' (random weights)'}, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"freed memory returned to the OS: {args.return_freed_memory}")
    header = (f"{'method':<10} {'classes':>7} {'shortcuts':>9} {'step s':>8} {'image fwd s':>11} {'step/img':>8} "
              f"{'test s':>7} {'peak GB':>8}")
    print(header)
    rows = []
    for method in args.methods:
        for classes in args.classes:
            results = {}
            for label, shortcuts_on, checkpointing in SETTINGS:
                if args.only and args.only != ("on" if shortcuts_on else "off"):
                    continue
                if shortcuts_on and args.text_checkpointing != "both" and checkpointing != (args.text_checkpointing == "on"):
                    continue
                if method in PER_IMAGE_PROMPTS:
                    results[label] = run_per_image_case(args, method, classes, label, shortcuts_on, checkpointing)
                    continue
                need = estimated_bytes(method, classes, shortcuts_on, args.batch, checkpointing=checkpointing)
                have = available_bytes(args.device)
                if need > 0.9 * have:
                    print(f"{method:<10} {classes:>7} {label:>9}   skipped: needs about {need / 1e9:.0f} GB, "
                          f"{have / 1e9:.0f} GB free")
                    results[label] = None
                    continue
                result = run_in_subprocess(args, method, classes, shortcuts_on, checkpointing)
                results[label] = result if "error" not in result else None
                if "error" in result:
                    print(f"{method:<10} {classes:>7} {label:>9}   failed: {result['error']}")
                    continue
                print(f"{method:<10} {classes:>7} {label:>9} {result['step']:>8.2f} {result['image_forward']:>11.2f} "
                      f"{result['step'] / result['image_forward']:>8.2f} {result['test_pass']:>7.2f} "
                      f"{result['peak'] / 1e9:>8.2f}", flush=True)
            on, off, ckpt = results.get("on"), results.get("off"), results.get("on+ckpt")
            if on and off:
                print(f"{'':<10} {classes:>7} {'off/on':>9} {off['step'] / on['step']:>8.1f}x step, "
                      f"{off['test_pass'] / on['test_pass']:.1f}x test pass", flush=True)
            if on and ckpt:
                print(f"{'':<10} {classes:>7} {'ckpt/on':>9} {ckpt['step'] / on['step']:>8.2f}x step, "
                      f"{ckpt['peak'] / on['peak']:.2f}x peak memory", flush=True)
            rows.append({"method": method, "classes": classes, "on": on, "off": off, "on+ckpt": ckpt})
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"device": args.device, "precision": args.precision, "batch": args.batch,
                       "backbone": args.backbone, "weights": args.weights or None,
                       "return_freed_memory": args.return_freed_memory, "rows": rows},
                      handle, indent=2)


if __name__ == "__main__":
    main()
