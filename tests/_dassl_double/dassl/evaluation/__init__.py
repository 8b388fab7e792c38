"""``dassl.evaluation``: evaluator registry and the Classification one."""
from .build import build_evaluator, EVALUATOR_REGISTRY  # isort:skip

from .evaluator import EvaluatorBase, Classification  # noqa: F401
