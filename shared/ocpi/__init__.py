"""OCPI 2.2.1 both ways: the transport rules (``transport``), and the CPO's Sender side of
the CDRs module with the versions and credentials modules (``api``: one request ->
response handler; ``wsgi`` serves it locally, ``functions/ocpi.py`` in Azure).

The push side is a target kind (``shared/notify/targets/ocpi.py``); it shares
``transport`` so both directions encode tokens and read envelopes the same way. Nothing
here imports the ledger: whoever composes the handler hands it the CDRs to serve
(``shared/app/ocpi.py``), which keeps this package below the notify layer.
"""
