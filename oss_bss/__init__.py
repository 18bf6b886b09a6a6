"""The operator: an embedded OSS/BSS.

Pure domain logic grouped by eTOM/ODA domain (catalog, party, ordering,
inventory, usage, billing), the in-process message bus that joins them, the
network port through which it reaches any network, and the persistence
adapters. It imports neither the simulated world (``sim``) nor the network
control (``controllers``): it sees time only as the ``at`` of the messages it
handles and the network only through :class:`oss_bss.ports.NetworkPort`.
"""
