"""Repo Diffusion trainer: `python -m trainer {train,export,doctor,sample}` (see docs/trainer.md)."""
__version__ = "0.1.0"
