"""Pretrained encoders from named sources (hf:, path:, bundled:, random:), loaded from local directories."""

from xstilts.models.sources import (
    LoadedModel,
    check_spec,
    default_cache_dir,
    describe_sources,
    load_model,
    resolve_model_dir,
)

__all__ = [
    "LoadedModel",
    "check_spec",
    "default_cache_dir",
    "describe_sources",
    "load_model",
    "resolve_model_dir",
]
