import torch
import torchvision.transforms as T
from tabulate import tabulate
from torch.utils.data import Dataset as TorchDataset

from dassl.utils import read_image

from .datasets import build_dataset
from .samplers import build_sampler
from .transforms import INTERPOLATION_MODES, build_transform


def build_data_loader(
    cfg,
    sampler_type="SequentialSampler",
    data_source=None,
    batch_size=64,
    n_domain=0,
    n_ins=2,
    tfm=None,
    is_train=True,
    dataset_wrapper=None
):
    """DataLoader over ``dataset_wrapper(cfg, data_source, tfm, is_train)``.

    The last incomplete batch is dropped only for training and only when
    there is at least one full batch. The loader must not be empty.
    """
    sampler = build_sampler(
        sampler_type, cfg=cfg, data_source=data_source,
        batch_size=batch_size, n_domain=n_domain, n_ins=n_ins
    )
    wrapper_cls = DatasetWrapper if dataset_wrapper is None else dataset_wrapper
    loader = torch.utils.data.DataLoader(
        wrapper_cls(cfg, data_source, transform=tfm, is_train=is_train),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=cfg.DATALOADER.NUM_WORKERS,
        drop_last=is_train and len(data_source) >= batch_size,
        pin_memory=(torch.cuda.is_available() and cfg.USE_CUDA),
    )
    assert len(loader) > 0
    return loader


class DataManager:
    """Builds the dataset, its transforms and the data loaders.

    Attributes: ``dataset``, ``train_loader_x``, ``train_loader_u`` (None
    without train_u), ``val_loader`` (None without val data),
    ``test_loader``, and the properties ``num_classes``,
    ``num_source_domains``, ``lab2cname``.
    """

    def __init__(
        self, cfg, custom_tfm_train=None, custom_tfm_test=None,
        dataset_wrapper=None
    ):
        dataset = build_dataset(cfg)

        if custom_tfm_train is None:
            tfm_train = build_transform(cfg, is_train=True)
        else:
            print("* Using custom transform for training")
            tfm_train = custom_tfm_train

        if custom_tfm_test is None:
            tfm_test = build_transform(cfg, is_train=False)
        else:
            print("* Using custom transform for testing")
            tfm_test = custom_tfm_test

        loader_cfg = cfg.DATALOADER
        x_cfg = loader_cfg.TRAIN_X

        def train_loader(source, opts):
            return build_data_loader(
                cfg, sampler_type=opts.SAMPLER, data_source=source,
                batch_size=opts.BATCH_SIZE, n_domain=opts.N_DOMAIN,
                n_ins=opts.N_INS, tfm=tfm_train, is_train=True,
                dataset_wrapper=dataset_wrapper
            )

        def eval_loader(source):
            return build_data_loader(
                cfg, sampler_type=loader_cfg.TEST.SAMPLER, data_source=source,
                batch_size=loader_cfg.TEST.BATCH_SIZE, tfm=tfm_test,
                is_train=False, dataset_wrapper=dataset_wrapper
            )

        train_loader_x = train_loader(dataset.train_x, x_cfg)

        train_loader_u = None
        if dataset.train_u:
            u_cfg = x_cfg if loader_cfg.TRAIN_U.SAME_AS_X else loader_cfg.TRAIN_U
            train_loader_u = train_loader(dataset.train_u, u_cfg)

        val_loader = eval_loader(dataset.val) if dataset.val else None
        test_loader = eval_loader(dataset.test)

        self._num_classes = dataset.num_classes
        self._num_source_domains = len(cfg.DATASET.SOURCE_DOMAINS)
        self._lab2cname = dataset.lab2cname

        self.dataset = dataset
        self.train_loader_x = train_loader_x
        self.train_loader_u = train_loader_u
        self.val_loader = val_loader
        self.test_loader = test_loader

        if cfg.VERBOSE:
            self.show_dataset_summary(cfg)

    @property
    def num_classes(self):
        return self._num_classes

    @property
    def num_source_domains(self):
        return self._num_source_domains

    @property
    def lab2cname(self):
        return self._lab2cname

    def show_dataset_summary(self, cfg):
        """Print a two-column tabulate table of the dataset sizes."""
        ds = self.dataset
        rows = [["Dataset", cfg.DATASET.NAME]]
        if cfg.DATASET.SOURCE_DOMAINS:
            rows.append(["Source", cfg.DATASET.SOURCE_DOMAINS])
        if cfg.DATASET.TARGET_DOMAINS:
            rows.append(["Target", cfg.DATASET.TARGET_DOMAINS])
        rows.append(["# classes", f"{self.num_classes:,}"])
        rows.append(["# train_x", f"{len(ds.train_x):,}"])
        if ds.train_u:
            rows.append(["# train_u", f"{len(ds.train_u):,}"])
        if ds.val:
            rows.append(["# val", f"{len(ds.val):,}"])
        rows.append(["# test", f"{len(ds.test):,}"])
        print(tabulate(rows))


class DatasetWrapper(TorchDataset):
    """Reads a Datum's image and returns a dict.

    Keys: ``label``, ``domain``, ``impath``, ``index`` and ``img`` (``img``,
    ``img2``, ... when ``transform`` is a list/tuple; each a list of
    K_TRANSFORMS tensors when that is > 1, train only), plus ``img0`` (no
    augmentation) if DATALOADER.RETURN_IMG0.
    """

    def __init__(self, cfg, data_source, transform=None, is_train=False):
        self.cfg = cfg
        self.data_source = data_source
        self.transform = transform
        self.is_train = is_train
        self.k_tfm = cfg.DATALOADER.K_TRANSFORMS if is_train else 1
        self.return_img0 = cfg.DATALOADER.RETURN_IMG0

        if self.k_tfm > 1 and transform is None:
            raise ValueError(
                f"Cannot augment the image {self.k_tfm} times because "
                "transform is None"
            )

        plain = [
            T.Resize(
                cfg.INPUT.SIZE,
                interpolation=INTERPOLATION_MODES[cfg.INPUT.INTERPOLATION]
            ),
            T.ToTensor(),
        ]
        if "normalize" in cfg.INPUT.TRANSFORMS:
            plain.append(
                T.Normalize(mean=cfg.INPUT.PIXEL_MEAN, std=cfg.INPUT.PIXEL_STD)
            )
        self.to_tensor = T.Compose(plain)

    def __len__(self):
        return len(self.data_source)

    def __getitem__(self, idx):
        item = self.data_source[idx]
        output = {
            "label": item.label,
            "domain": item.domain,
            "impath": item.impath,
            "index": idx,
        }
        img0 = read_image(item.impath)

        if self.transform is None:
            output["img"] = img0
        elif isinstance(self.transform, (list, tuple)):
            for i, tfm in enumerate(self.transform):
                key = "img" if i == 0 else f"img{i + 1}"
                output[key] = self._transform_image(tfm, img0)
        else:
            output["img"] = self._transform_image(self.transform, img0)

        if self.return_img0:
            output["img0"] = self.to_tensor(img0)
        return output

    def _transform_image(self, tfm, img0):
        views = [tfm(img0) for _ in range(self.k_tfm)]
        return views[0] if len(views) == 1 else views
