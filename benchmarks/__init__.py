"""Benchmarks behind `agora bench`."""

import bot  # noqa: F401  (first: it sets the BLAS thread count before numpy loads)
