"""orchestration: the Dagster definitions; they only wire the pure-Python packages together."""

import os

# One BLAS thread for the estimators (see impact/cli.py), also when Dagster loads the definitions itself.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
