"""``dassl.engine``: trainer registry and the generic trainers.

Dassl's own DA/DG/SSL trainers are registered as placeholders under their
real names (same order) so that registering a trainer with a colliding
name fails as it does with Dassl; building one raises NotImplementedError.
"""
from .build import TRAINER_REGISTRY, build_trainer  # isort:skip
from .trainer import TrainerX, TrainerBase, SimpleTrainer  # isort:skip


def _register_placeholders():
    names = [
        # domain adaptation
        "SE", "MCD", "MME", "ADDA", "CDAC", "DAEL", "DANN", "AdaBN",
        "M3SDA", "SourceOnly",
        # domain generalisation
        "DDAIG", "DAELDG", "Vanilla", "CrossGrad", "DomainMix",
        # semi-supervised
        "EntMin", "FixMatch", "MixMatch", "MeanTeacher", "SupBaseline",
    ]

    def unavailable(self, cfg):
        raise NotImplementedError(
            f"Dassl trainer {type(self).__name__} is not provided by the "
            "Dassl test double"
        )

    for name in names:
        TRAINER_REGISTRY.register(
            type(name, (SimpleTrainer, ), {"__init__": unavailable})
        )


_register_placeholders()
del _register_placeholders
