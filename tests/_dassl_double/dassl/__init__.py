"""Test double of Dassl 0.6.3 (KaiyangZhou/Dassl.pytorch, commit c61a1b5).

This package is NOT a replacement for Dassl. It re-implements, from a
reading of Dassl's behaviour, only the parts that this project touches
(config defaults, registries, DataManager, transforms, the Classification
evaluator, optimizer/scheduler builders, SimpleTrainer/TrainerX and the
utility helpers), so that the test suite can run where Dassl cannot be
installed. Module paths, names, signatures, printed lines, file layouts
and random-number consumption follow Dassl 0.6.3; everything else
(domain-adaptation / SSL trainers, backbones, augmentation policies) is
absent or a placeholder that raises ``NotImplementedError``.

tests/conftest.py puts this directory on ``sys.path`` only when no real
``dassl`` is importable.
"""

__version__ = "0.6.3"
IS_TEST_DOUBLE = True
