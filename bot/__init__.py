"""Agora's platform-independent core."""

import os

# numpy's OpenBLAS starts one thread per core for every matrix product, however small.
# Agora's products are small (one sentence embedding, one query against a few thousand
# stored vectors) and run beside the event loop on a shared machine, where those threads
# only contend: measured on 2 busy cores, scoring 2,000 candidates took 12 ms instead of
# 1.4 (the embedder limits its own threads too). Set before numpy is first imported; an
# operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
