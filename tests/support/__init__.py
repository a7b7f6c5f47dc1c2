"""What the suites and the benches share (``bench/`` imports from here, never from a suite):

- ``builders``: canonical events, Zaptec capture lines, 723 payloads, the ids they use;
- ``receivers``: loopback HTTP servers: vendor-fake plumbing (``Vendor``, ``serve``), a
  scripted server, the webhook ``Receiver``, ``free_port``;
- ``cli``: the console script in a subprocess, or ``shared.cli.main`` in process;
- ``azurite``: the Azure Storage emulator fixture; ``delegating``: a store to subclass
  for injected failures;
- ``proof`` and ``truth``: the operator proof (tests/proof, bench/bench_proof.py) and
  the ground truth it checks against.
"""
