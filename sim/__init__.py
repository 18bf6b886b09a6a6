"""The world outside the operator: time, random streams, topologies,
customers and their behaviour, traffic, and the simulated network.

It also holds the scenario schema (:mod:`sim.scenario`) and the composition
root that wires a run together (:mod:`sim.runner`).
"""
