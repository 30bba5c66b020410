"""Local dataset files: ``save_to_disk`` folders, Parquet, JSON and JSON Lines, with image paths resolved."""

from rlvr.data.local import load_local_dataset, resolve_image

__all__ = ["load_local_dataset", "resolve_image"]
