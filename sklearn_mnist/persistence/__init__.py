"""Safe model files: ``save`` / ``load`` without pickle (safetensors + skops)."""

from ._api import load, save
from ._container import FORMAT_VERSION

__all__ = ["FORMAT_VERSION", "load", "save"]
