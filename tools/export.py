"""Export a trained run as a self-contained classifier for plain CLIP: no Dassl, no project code."""
import argparse
import contextlib
import json
import os.path as osp
import sys

if not __package__:  # run as a file (python path/to/tools/x.py, from any folder): lamm/ is beside tools/
    sys.path[0] = osp.dirname(osp.dirname(osp.abspath(__file__)))  # in place of tools/, whose names would shadow

from lamm.errors import ConfigError, check_writable, run_command, write_error

FORMAT = "lamm-clip-classifier"
FORMAT_VERSION = 1


def output_paths(out: str):
    stem = out[: -len(".safetensors")] if out.endswith(".safetensors") else out
    return stem + ".safetensors", stem + ".json"


def check_targets(out: str) -> None:
    """Refuse an OUT that cannot be written or holds files that are not an export."""
    tensor_path, json_path = output_paths(out)
    if out.endswith(("/", osp.sep)) or osp.isdir(out) or osp.basename(tensor_path) == ".safetensors":
        raise ConfigError(f"OUT {out} is a folder: give the files' path without extension, e.g. "
                          f"{osp.join(out, 'caltech_lamm')}.")
    for path in (tensor_path, json_path):
        check_writable(path, "OUT")
    if osp.isfile(json_path) and not _is_export(json_path) or osp.isfile(tensor_path) and not osp.isfile(json_path):
        taken = json_path if osp.isfile(json_path) else tensor_path
        raise ConfigError(f"OUT {out}: {taken} exists and is not an export of this tool; choose another name.")


def _is_export(json_path: str) -> bool:
    try:
        with open(json_path) as handle:
            return json.load(handle).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def export(run_dir: str, out: str, epoch=None) -> dict:
    import torch
    from safetensors.torch import save_file

    from lamm.files import atomic_write, atomic_write_json
    from trainers.from_run import TrainedModel

    check_targets(out)
    with contextlib.redirect_stdout(sys.stderr):
        trained = TrainedModel(run_dir, epoch, "cpu")
    if trained.unfinished_warning():
        print(trained.unfinished_warning(), file=sys.stderr)
    if trained.prompts_image_tower:
        raise ConfigError(
            f"{run_dir} is a {trained.trainer} run: MaPLe's prompts also change CLIP's image encoder (deep vision "
            "prompts), so text features alone would not reproduce it with plain CLIP. Use predict.py for this run."
        )
    if trained.per_image_prompts:
        raise ConfigError(
            f"{run_dir} is a {trained.trainer} run: CoCoOp's prompts depend on each image (its Meta-Net shifts the "
            "context per image), so there is no fixed classifier (text features) to export. Use predict.py for "
            "this run."
        )
    features = trained.text_features().float().cpu().contiguous()  # (n_cls, D), normalised
    backbone = trained.backbone
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "backbone": backbone,  # a CLIP name for clip.load, or the file the run loaded
        "backbone_weights": trained.cfg.MODEL.BACKBONE.get("WEIGHTS", "") or None,  # open_clip's (docs/BACKBONES.md)
        "logit_bias": trained.logit_bias,  # added to every logit (SigLIP), or None
        "classnames": list(trained.classnames),
        "num_classes": int(features.shape[0]),
        "embed_dim": int(features.shape[1]),
        "logit_scale": trained.logit_scale,
        "preprocessing": trained.preprocessing,
        **trained.describe(),  # run, trainer, epoch; max_epoch, epochs_trained, finished: an unfinished run says so
    }
    tensor_path, json_path = output_paths(out)
    tensors = {"text_features": features, "logit_scale": torch.tensor(trained.logit_scale, dtype=torch.float32)}
    metadata = {"description": json.dumps(description)}  # safetensors metadata: strings only
    try:
        atomic_write(tensor_path, lambda tmp_path: save_file(tensors, tmp_path, metadata=metadata))
        atomic_write_json(json_path, dict(description, features_file=osp.basename(tensor_path)))
    except OSError as error:  # the folder became unwritable, the disk is full, ...
        raise write_error(out, error, "OUT") from None
    return description


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run's output folder (training run, or a ZeroshotCLIP run)")
    parser.add_argument("out", help="output path without extension: writes OUT.safetensors and OUT.json")
    parser.add_argument("--load-epoch", type=int, help="the checkpoint's epoch (default: the final one)")
    args = parser.parse_args(argv)
    if not osp.isdir(args.run):
        raise ConfigError(f"{args.run}: no such run folder.")
    description = export(args.run, args.out, args.load_epoch)
    tensor_path, json_path = output_paths(args.out)
    print(f"{description['trainer']} run, {description['num_classes']} classes x {description['embed_dim']} "
          f"(backbone {description['backbone']}, logit scale {description['logit_scale']:.2f})")
    print(f"wrote {tensor_path} and {json_path}")


if __name__ == "__main__":
    run_command(main)
