"""Network control: pure OpenFlow flow logic, the os-ken application that
pushes it to Open vSwitch, and the Mininet network that implements the
operator's ``NetworkPort`` with them (the emulated backend).

Only this package imports ``os_ken`` or ``mininet``, and only in the modules
that must. The emulated backend is the subject of its own issue; until it
lands, ``--backend mininet`` is refused with a clear message.
"""
