"""bench.jobs: the job runner's latency and throughput, and the event bus across processes.

`python -m bench.jobs [--quick]`; see README.md in this directory.
"""
