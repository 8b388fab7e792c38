"""Sampler factory. Only torch's RandomSampler (no replacement, torch
global RNG) and SequentialSampler are provided; Dassl's domain/class
samplers are not part of the double."""
from torch.utils.data.sampler import RandomSampler, SequentialSampler

_NOT_IN_DOUBLE = ("RandomDomainSampler", "SeqDomainSampler",
                  "RandomClassSampler")


def build_sampler(
    sampler_type, cfg=None, data_source=None, batch_size=32, n_domain=0,
    n_ins=16
):
    if sampler_type == "RandomSampler":
        return RandomSampler(data_source)
    if sampler_type == "SequentialSampler":
        return SequentialSampler(data_source)
    if sampler_type in _NOT_IN_DOUBLE:
        raise NotImplementedError(
            f"{sampler_type} is not provided by the Dassl test double"
        )
    raise ValueError(f"Unknown sampler type: {sampler_type}")
