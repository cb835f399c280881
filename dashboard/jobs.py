"""The Training page's side of background training jobs (:mod:`lulc_core.jobs`) and the
choices of what to train (the model registry, which imports torch: only when asked)."""

from __future__ import annotations

from lulc_core.jobs import (
    TOKEN_ENV,
    JobSpec,
    cancel_job,
    current_job,
    log_tail,
    read_progress,
    retraining_enabled,
    start_job,
    token_matches,
)

__all__ = ["TOKEN_ENV", "JobSpec", "cancel_job", "classifier_architectures", "current_job",
           "encoders", "eurosat_encoder_source", "log_tail", "read_progress",
           "retraining_enabled", "start_job", "token_matches"]


def classifier_architectures() -> list[str]:
    """EuroSAT classifier architectures of the registry, sorted."""
    from lulc_core.models import CLASSIFIERS

    return sorted(CLASSIFIERS)


def encoders() -> list[str]:
    """U-Net encoders of the registry."""
    from lulc_core.models import ENCODERS

    return list(ENCODERS)


def eurosat_encoder_source(encoder: str) -> str:
    """The EuroSAT classifier whose weights start ``encoder`` (``--encoder-weights eurosat``)."""
    from lulc_core.models import EUROSAT_ENCODER_SOURCE

    return EUROSAT_ENCODER_SOURCE[encoder]
