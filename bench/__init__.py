"""The PartnerSearch benchmark: scale corpus, embedder wrappers, the txtai peer, the runner.

Run from the repository root as ``python -m bench.run`` (``make bench``).
"""
