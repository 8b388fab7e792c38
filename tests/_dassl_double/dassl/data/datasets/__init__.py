"""``dassl.data.datasets``: dataset registry, Datum and DatasetBase.

Dassl's own datasets are registered as placeholders under their real names
(same order), so that name collisions and "do you mean" suggestions behave
as with Dassl; instantiating one raises NotImplementedError.
"""
from .build import DATASET_REGISTRY, build_dataset  # isort:skip
from .base_dataset import Datum, DatasetBase  # isort:skip


def _register_placeholders():
    names = [
        # domain adaptation
        "Digit5", "VisDA17", "CIFARSTL", "Office31", "DomainNet",
        "OfficeHome", "miniDomainNet",
        # domain generalisation
        "PACS", "VLCS", "FMoW", "IWildCam", "Camelyon17", "CIFAR10C",
        "CIFAR100C", "DigitsDG", "DigitSingle", "OfficeHomeDG",
        # semi-supervised
        "CIFAR10", "CIFAR100", "SVHN", "STL10",
    ]

    def unavailable(self, cfg, *args, **kwargs):
        raise NotImplementedError(
            f"Dassl dataset {type(self).__name__} is not provided by the "
            "Dassl test double"
        )

    for name in names:
        DATASET_REGISTRY.register(
            type(name, (DatasetBase, ), {"__init__": unavailable})
        )


_register_placeholders()
del _register_placeholders
