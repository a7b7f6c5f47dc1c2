"""chargeops core library: pure rules for EV-charging operations plus thin adapters.

The modules read like the data path: ``decode`` -> ``state`` -> ``events`` -> ``routing``
-> ``delivery``; stores and vendor clients sit at the edges.
"""

__version__ = "0.1.0"
