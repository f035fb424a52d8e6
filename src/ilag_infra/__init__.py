"""ilag-infra: shared infrastructure of the ILAG IKT municipalities."""

__version__ = "0.1.0"
