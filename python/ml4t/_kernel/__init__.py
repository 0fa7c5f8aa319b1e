"""The Python side of the signal kernel, shared by ``ml4t.vectorized`` and ``ml4t.promotion``: evaluating a
strategy's signal expressions on the bars (``signals``), the point-in-time fill rule of the kernel
(``timing``) and the kernel's inputs built from the declared settings (``inputs``). It imports neither mode.
"""
