"""Topology import from real files and generated topologies."""

from pathlib import Path

import networkx as nx
import pytest

from sim.scenario import TopologyBuilder
from sim.topology import (
    build_topology,
    default_gateways,
    great_circle_km,
    link_speed_bps,
    read_topology_file,
)

TOPOLOGIES = Path(__file__).resolve().parents[2] / "scenarios" / "topologies"

# A GML in the Topology Zoo's style: a repeated edge without "multigraph 1",
# a node without coordinates, speeds in three spellings, two components and
# two nodes sharing a label.
ZOO_LIKE_GML = """graph [
  label "Tiny"
  node [ id 0 label "Paris" Latitude 48.85341 Longitude 2.3488 ]
  node [ id 1 label "London" Latitude 51.50853 Longitude -0.12574 ]
  node [ id 2 label "Nowhere" ]
  node [ id 3 label "Twin" Latitude 1.0 Longitude 1.0 ]
  node [ id 4 label "Twin" Latitude 1.0 Longitude 1.1 ]
  edge [ source 0 target 1 LinkSpeedRaw 10000000000.0 ]
  edge [ source 0 target 1 LinkLabel "155 Mbps" ]
  edge [ source 1 target 2 LinkType "OC-48" ]
  edge [ source 3 target 4 ]
]
"""


def test_abilene_graphml_reads_with_speeds_and_great_circle_latency():
    name, g = read_topology_file(TOPOLOGIES / "Abilene.graphml", 1e9, 0.001)
    assert name == "Abilene" and g.number_of_nodes() == 11 and g.number_of_edges() == 14
    # Every Abilene link is OC-192: 192 x 51.84 Mbit/s.
    assert {d["capacity_bps"] for _, _, d in g.edges(data=True)} == {int(192 * 51.84e6)}
    ny_chicago = g.get_edge_data("New York", "Chicago") or g.get_edge_data("Chicago", "New York")
    (link,) = ny_chicago.values()
    km = great_circle_km(40.71427, -74.00597, 41.85003, -87.65005)
    assert 1140 < km < 1150
    assert link["latency_s"] == pytest.approx(km / (299_792.458 / 1.468))
    assert 5.5e-3 < link["latency_s"] < 5.7e-3


def test_geant_reads_every_link_speed_from_the_file():
    _, g = read_topology_file(TOPOLOGIES / "Geant2012.graphml", 1.0, 0.001)
    assert g.number_of_nodes() == 40 and g.number_of_edges() == 61
    speeds = {d["capacity_bps"] for _, _, d in g.edges(data=True)}
    assert 10_000_000_000 in speeds and 2_500_000_000 in speeds


def test_zoo_style_gml_with_parallel_edges_missing_coordinates_and_components(tmp_path):
    path = tmp_path / "tiny.gml"
    path.write_text(ZOO_LIKE_GML)
    name, g = read_topology_file(path, 1e9, 0.002)
    assert name == "Tiny"
    assert sorted(g.nodes) == ["London", "Nowhere", "Paris", "Twin (3)", "Twin (4)"]
    paris_london = g.get_edge_data("Paris", "London")
    assert sorted(paris_london) == ["Paris--London", "Paris--London#2"]
    assert paris_london["Paris--London"]["capacity_bps"] == 10**10
    assert paris_london["Paris--London#2"]["capacity_bps"] == 155 * 10**6
    (oc48,) = g.get_edge_data("London", "Nowhere").values()
    assert oc48["capacity_bps"] == int(48 * 51.84e6) and oc48["latency_s"] == 0.002
    (twins,) = g.get_edge_data("Twin (3)", "Twin (4)").values()
    assert twins["capacity_bps"] == 10**9  # the default
    assert nx.number_connected_components(g) == 2
    assert len(default_gateways(g)) == 2


def test_link_speed_spellings():
    assert link_speed_bps({"LinkSpeed": "2.5", "LinkSpeedUnits": "G"}) == 2.5e9
    assert link_speed_bps({"LinkLabel": "1 Gbps"}) == 1e9
    assert link_speed_bps({"LinkLabel": "Completed"}) is None


@pytest.mark.parametrize(
    "kind,nodes,edges,gateway",
    [("linear", 5, 4, "s3"), ("ring", 6, 6, "s1"), ("star", 5, 4, "s1"), ("tree", 7, 6, "s1")],
)
def test_builders_name_switches_like_mininet(kind, nodes, edges, gateway):
    g = build_topology(TopologyBuilder(kind=kind, nodes=nodes), 1e9, 0.001, seed=1)
    assert sorted(g.nodes, key=lambda n: int(n[1:])) == [f"s{i}" for i in range(1, nodes + 1)]
    assert g.number_of_edges() == edges
    assert default_gateways(g) == (gateway,)


def test_random_geometric_is_reproducible_from_its_seed():
    spec = TopologyBuilder(kind="random-geometric", nodes=30, radius=0.3)
    a, b = build_topology(spec, 1e9, 0.001, seed=7), build_topology(spec, 1e9, 0.001, seed=7)
    assert list(a.edges(data=True)) == list(b.edges(data=True))
    assert list(a.edges) != list(build_topology(spec, 1e9, 0.001, seed=8).edges)
