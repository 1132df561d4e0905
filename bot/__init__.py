"""Agora's platform-independent core."""

import os

# numpy's OpenBLAS starts one thread per core for every matrix product, however small.
# Agora's products are small (one sentence embedding, one query against a few thousand
# stored vectors) and run beside the event loop on a shared machine, where those threads
# only contend: measured on 2 busy cores, embedding a message took 23 ms instead of 3.8
# and scoring 2,000 candidates 12 ms instead of 1.4. Set before numpy is first imported;
# an operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
