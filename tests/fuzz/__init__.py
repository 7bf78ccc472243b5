"""A fuzzer for the worker's gRPC surface, shared by ``tests/test_fuzz.py`` (a short,
fixed-seed run in ``make test``) and the long run ``python -m tests.fuzz`` (``make fuzz``).

Every RPC gets random bytes, mutations of real TF 2.21 client requests (``corpus/``),
a list of hostile but well-formed requests, and every registered op with random inputs
and attrs, as raw bytes from a grpcio client to ``python -m eager_async serve`` in its own
process. See ``harness`` for the oracle and the probe.
"""
