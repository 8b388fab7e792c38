"""lamm/precision.py: the precision in force on each device, stated rather than warned."""
import warnings

import pytest

from lamm.errors import ConfigError
from lamm.precision import describe_precision, resolve_precision


def test_fp16_falls_back_to_fp32_on_the_cpu_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped configs say fp16: every CPU run would warn
        assert resolve_precision("fp16", "cpu") == resolve_precision("amp", "cpu") == "fp32"
    assert resolve_precision("fp16", "cuda") == "fp16"
    assert describe_precision("fp16", "cpu") == "fp32 (fp16 is for the GPU; the CPU runs fp32)"
    assert describe_precision("fp32", "cpu") == describe_precision("fp32", "cuda") == "fp32"
    with pytest.raises(ConfigError, match="Unknown precision 'fp8'"):
        resolve_precision("fp8", "cpu")
