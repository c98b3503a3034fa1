"""Benchmarks of A²Lens: scripts that print Markdown tables and write JSON, not timed unit tests.

    python -m bench.blocks    # one attention block: time and peak memory, A² (both orders) vs the others
    python -m bench.models    # every model of the zoo: latency, throughput, FLOPs, parameters
    python -m bench.app       # the Explore page: upload → maps, click → distribution view

Full runs write bench/results/<name>.json; ``--quick`` runs (tiny sizes, for
CI) write bench/results/quick/<name>.json, which git ignores; ``--out DIR``
writes elsewhere. Shared timing and memory helpers live in bench/_util.py.
"""
