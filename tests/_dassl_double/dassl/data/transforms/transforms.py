"""Train/test transform builders (the subset used by CLIP configs).

Choices are validated against Dassl's full list; the augmentation policies
and the other Dassl-specific operations are listed but raise
NotImplementedError in this double.
"""
from torchvision.transforms import (
    CenterCrop, ColorJitter, Compose, GaussianBlur, Normalize, RandomApply,
    RandomCrop, RandomGrayscale, RandomHorizontalFlip, RandomResizedCrop,
    Resize, ToTensor
)
from torchvision.transforms.functional import InterpolationMode

AVAI_CHOICES = [
    "random_flip",
    "random_resized_crop",
    "normalize",
    "instance_norm",
    "random_crop",
    "random_translation",
    "center_crop",
    "cutout",
    "imagenet_policy",
    "cifar10_policy",
    "svhn_policy",
    "randaugment",
    "randaugment_fixmatch",
    "randaugment2",
    "gaussian_noise",
    "colorjitter",
    "randomgrayscale",
    "gaussian_blur",
]

_NOT_IN_DOUBLE = [
    "random_translation", "cutout", "imagenet_policy", "cifar10_policy",
    "svhn_policy", "randaugment", "randaugment_fixmatch", "randaugment2",
    "gaussian_noise",
]

INTERPOLATION_MODES = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "nearest": InterpolationMode.NEAREST,
}


class InstanceNormalization:
    """Standardise each channel of a CxHxW tensor by its own mean/std."""

    def __init__(self, eps=1e-8):
        self.eps = eps

    def __call__(self, img):
        c = img.shape[0]
        flat = img.reshape(c, -1)
        mean = flat.mean(1).view(c, 1, 1)
        std = flat.std(1).view(c, 1, 1)
        return (img - mean) / (std + self.eps)


def build_transform(cfg, is_train=True, choices=None):
    """Compose the train or test transform.

    ``choices`` overrides ``cfg.INPUT.TRANSFORMS``. Returns None (after a
    note) when ``cfg.INPUT.NO_TRANSFORM``.
    """
    if cfg.INPUT.NO_TRANSFORM:
        print("Note: no transform is applied!")
        return None

    if choices is None:
        choices = cfg.INPUT.TRANSFORMS
    for choice in choices:
        assert choice in AVAI_CHOICES

    target_size = f"{cfg.INPUT.SIZE[0]}x{cfg.INPUT.SIZE[1]}"
    normalize = Normalize(mean=cfg.INPUT.PIXEL_MEAN, std=cfg.INPUT.PIXEL_STD)
    build = _build_transform_train if is_train else _build_transform_test
    return build(cfg, choices, target_size, normalize)


def _normalize_line(cfg):
    return (
        f"+ normalization (mean={cfg.INPUT.PIXEL_MEAN}, "
        f"std={cfg.INPUT.PIXEL_STD})"
    )


def _build_transform_train(cfg, choices, target_size, normalize):
    print("Building transform_train")
    inp = cfg.INPUT
    interp = INTERPOLATION_MODES[inp.INTERPOLATION]
    size = inp.SIZE
    ops = []

    unsupported = [c for c in _NOT_IN_DOUBLE if c in choices]
    if unsupported:
        raise NotImplementedError(
            f"transforms {unsupported} are not provided by the Dassl test "
            "double"
        )

    # resize only when no crop will bring the image to the target size
    if "random_crop" not in choices and "random_resized_crop" not in choices:
        print(f"+ resize to {target_size}")
        ops.append(Resize(size, interpolation=interp))

    if "random_crop" in choices:
        print(f"+ random crop (padding = {inp.CROP_PADDING})")
        ops.append(RandomCrop(size, padding=inp.CROP_PADDING))

    if "random_resized_crop" in choices:
        scale = inp.RRCROP_SCALE
        print(f"+ random resized crop (size={size}, scale={scale})")
        ops.append(RandomResizedCrop(size, scale=scale, interpolation=interp))

    if "random_flip" in choices:
        print("+ random flip")
        ops.append(RandomHorizontalFlip())

    if "colorjitter" in choices:
        b, c, s, h = (inp.COLORJITTER_B, inp.COLORJITTER_C,
                      inp.COLORJITTER_S, inp.COLORJITTER_H)
        print(
            f"+ color jitter (brightness={b}, contrast={c}, "
            f"saturation={s}, hue={h})"
        )
        ops.append(ColorJitter(brightness=b, contrast=c, saturation=s, hue=h))

    if "randomgrayscale" in choices:
        print("+ random gray scale")
        ops.append(RandomGrayscale(p=inp.RGS_P))

    if "gaussian_blur" in choices:
        print(f"+ gaussian blur (kernel={inp.GB_K})")
        ops.append(RandomApply([GaussianBlur(inp.GB_K)], p=inp.GB_P))

    print("+ to torch tensor of range [0, 1]")
    ops.append(ToTensor())

    if "normalize" in choices:
        print(_normalize_line(cfg))
        ops.append(normalize)

    if "instance_norm" in choices:
        print("+ instance normalization")
        ops.append(InstanceNormalization())

    return Compose(ops)


def _build_transform_test(cfg, choices, target_size, normalize):
    print("Building transform_test")
    interp = INTERPOLATION_MODES[cfg.INPUT.INTERPOLATION]
    size = cfg.INPUT.SIZE
    short_side = max(size)

    print(f"+ resize the smaller edge to {short_side}")
    print(f"+ {target_size} center crop")
    print("+ to torch tensor of range [0, 1]")
    ops = [
        Resize(short_side, interpolation=interp),
        CenterCrop(size),
        ToTensor(),
    ]

    if "normalize" in choices:
        print(_normalize_line(cfg))
        ops.append(normalize)

    if "instance_norm" in choices:
        print("+ instance normalization")
        ops.append(InstanceNormalization())

    return Compose(ops)
