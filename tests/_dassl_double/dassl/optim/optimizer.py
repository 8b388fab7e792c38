import warnings

import torch
import torch.nn as nn

AVAI_OPTIMS = ["adam", "amsgrad", "sgd", "rmsprop", "radam", "adamw"]


def _staged_param_groups(model, new_layers, lr, base_lr_mult):
    if not isinstance(model, nn.Module):
        raise TypeError(
            "When staged_lr is True, model given to build_optimizer() "
            "must be an instance of nn.Module"
        )
    if isinstance(model, nn.DataParallel):
        model = model.module
    if isinstance(new_layers, str):
        new_layers = [new_layers]
    base_params, new_params = [], []
    for name, child in model.named_children():
        target = new_params if name in new_layers else base_params
        target.extend(child.parameters())
    return [
        {"params": base_params, "lr": lr * base_lr_mult},
        {"params": new_params},
    ]


def build_optimizer(model, optim_cfg, param_groups=None):
    """Build ``optim_cfg.NAME`` over ``param_groups`` if given, else over
    ``model.parameters()`` (all of them, frozen ones included) or over the
    iterable ``model`` itself."""
    name = optim_cfg.NAME
    lr = optim_cfg.LR
    wd = optim_cfg.WEIGHT_DECAY
    betas = (optim_cfg.ADAM_BETA1, optim_cfg.ADAM_BETA2)

    if name not in AVAI_OPTIMS:
        raise ValueError(
            f"optim must be one of {AVAI_OPTIMS}, but got {name}"
        )

    if param_groups is not None and optim_cfg.STAGED_LR:
        warnings.warn(
            "staged_lr will be ignored, if you need to use staged_lr, "
            "please bind it with param_groups yourself."
        )

    if param_groups is None:
        if optim_cfg.STAGED_LR:
            param_groups = _staged_param_groups(
                model, optim_cfg.NEW_LAYERS, lr, optim_cfg.BASE_LR_MULT
            )
        elif isinstance(model, nn.Module):
            param_groups = model.parameters()
        else:
            param_groups = model

    if name in ("adam", "amsgrad"):
        return torch.optim.Adam(
            param_groups, lr=lr, weight_decay=wd, betas=betas,
            amsgrad=(name == "amsgrad")
        )
    if name == "sgd":
        return torch.optim.SGD(
            param_groups, lr=lr, momentum=optim_cfg.MOMENTUM,
            weight_decay=wd, dampening=optim_cfg.SGD_DAMPNING,
            nesterov=optim_cfg.SGD_NESTEROV
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            param_groups, lr=lr, momentum=optim_cfg.MOMENTUM,
            weight_decay=wd, alpha=optim_cfg.RMSPROP_ALPHA
        )
    if name == "adamw":
        return torch.optim.AdamW(
            param_groups, lr=lr, weight_decay=wd, betas=betas
        )
    # "radam": Dassl ships its own RAdam implementation, which this double
    # does not reproduce.
    raise NotImplementedError(
        "radam is not provided by the Dassl test double"
    )
