"""The PartnerSearch benchmarks (benchmarks, not tests), run from the repository root as
modules: ``python -m bench.run`` (``make bench``), ``bench.channels``, ``bench.rerank``,
``bench.threads``, ``bench.scale_corpus``.

bench.run's modules, bottom up: system (machine, clock, percentiles, Settings), embedders
(recording and derived-vector wrappers), scale_corpus (the seeded corpus), peer (txtai),
server (``partnersearch serve`` under load), fresh (timings in a fresh interpreter), build
(ingest timings), sizes (one size end to end), tables and report (markdown), run (the CLI).
Nothing is imported here, so ``python -m bench.fresh`` times its own imports.
"""

__all__: list[str] = []
