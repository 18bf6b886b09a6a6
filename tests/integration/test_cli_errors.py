"""A user's mistakes get one line, exit code 2, no traceback and no folder left behind."""

import pytest


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_scenario_file(cli, tmp_path):
    result = cli(tmp_path / "nope.yaml", "--out", tmp_path / "out")
    assert_one_line_error(result, "nope.yaml", "file not found")
    assert not (tmp_path / "out").exists()


def test_yaml_syntax_error_names_line_and_column(cli, write_scenario):
    path = write_scenario(text="name: x\nseed: [1, 2\nstart: 2026-01-01\n")
    assert_one_line_error(cli(path), str(path), "line ", "YAML syntax error")


@pytest.mark.parametrize(
    "changes,key,reason",
    [
        ({"population.colour": "blue"}, "population.colour", "unknown key"),
        ({"duration_days": -3}, "duration_days", "greater than 0"),
        ({"seed": None}, "seed", "required key is missing"),
        ({"currency": "euro"}, "currency", "should match pattern"),
        ({"population.segments.business.share": 0.5}, "population.segments", "add up to 1"),
        ({"population.segments.business.offerings": {"gold": 1}}, "population.segments.business.offerings", "gold"),
        ({"population.locale": "xx_XX"}, "population.locale", "unknown Faker locale"),
        ({"usage": {"daily_profile": [1, 2, 3]}}, "usage.daily_profile", "24 hourly weights"),
        ({"ordering.install_hours": {"min": 5, "mode": 1, "max": 9}}, "ordering.install_hours", "min <= mode"),
        ({"topology.file": "missing.graphml"}, "topology.file", "file not found"),
        ({"topology.gateways": ["Atlantis"]}, "topology.gateways[0]", "Atlantis"),
        ({"catalog": []}, "catalog", "at least 1"),
    ],
)
def test_bad_values_name_the_file_the_key_path_and_the_reason(cli, write_scenario, tmp_path, changes, key, reason):
    path = write_scenario(changes)
    assert_one_line_error(cli(path, "--check"), f"{path}: {key}: ", reason)
    out = tmp_path / "run-out"
    assert_one_line_error(cli(path, "--out", out), key)
    assert not out.exists() and not list(tmp_path.glob(".run-out*"))


def test_unknown_backend_and_bad_database_url(cli, write_scenario, tmp_path):
    path = write_scenario({"population.customers": 5, "duration_days": 1})
    assert_one_line_error(cli(path, "--backend", "carrier-pigeon"), "unknown network backend", "carrier-pigeon")
    result = cli(path, "--out", tmp_path / "o", "--db", "nosuchdb://x")
    assert_one_line_error(result, "database")
    assert not (tmp_path / "o").exists()


def test_an_existing_non_empty_output_folder_is_refused(cli, write_scenario, tmp_path):
    path = write_scenario({"population.customers": 5, "duration_days": 1})
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    assert_one_line_error(cli(path, "--out", tmp_path / "taken"), "not empty")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def test_check_accepts_the_quickstart(cli):
    result = cli("scenarios/quickstart.yaml", "--check")
    assert result.returncode == 0 and "ok" in result.stderr


@pytest.mark.parametrize("suffix,content", [(".graphml", "<graphml><graph>oops"), (".gml", "graph [ node [ id 0 ")])
def test_a_corrupt_topology_file_is_named_with_the_key(cli, write_scenario, tmp_path, suffix, content):
    broken = tmp_path / f"broken{suffix}"
    broken.write_text(content)
    path = write_scenario({"topology.file": str(broken)})
    assert_one_line_error(cli(path, "--check"), "topology.file", f"cannot read broken{suffix}")


@pytest.mark.parametrize(
    "changes,key,reason",
    [
        ({"ordering.arrivals_per_day": -5}, "ordering.arrivals_per_day", "greater than 0"),
        ({"faults": {"links": {"mtbf": "100h", "mttr": 0}}}, "faults.links.mttr", "greater than 0"),
        ({"faults": {"links": {"mtbf": "100h", "mttr": "soon"}}}, "faults.links.mttr", "cannot read 'soon'"),
        ({"catalog": [{"id": "fibre-100", "name": "F", "bandwidth_mbps": 50_000, "monthly_price": "1"}],
          "population.segments.residential.offerings": {"fibre-100": 1},
          "population.segments.business.offerings": {"fibre-100": 1}},
         "catalog[0].bandwidth_mbps", "more than any link carries"),
        ({"capacity": {"classes": [{"name": "c", "from": "Denver", "to": "Seattle", "arrivals_per_hour": 5,
                                    "holding": "1h", "bandwidth_mbps": 20_000}]}},
         "capacity.classes[0].bandwidth_mbps", "no path from Denver to Seattle"),
        ({"capacity": {"classes": [{"name": "c", "from": "Denver", "to": "Seattle", "arrivals_per_hour": -1,
                                    "holding": "1h"}]}}, "capacity.classes[0].arrivals_per_hour", "greater than 0"),
        ({"usage": {"weekly_profile": [1, 1]}}, "usage.weekly_profile", "7 daily weights"),
        ({"usage": {"daily_profile": [0] * 24}}, "usage.daily_profile", "must be positive"),
        ({"timeline": [{"at": "1d", "fail_link": "Denver--Mars", "for": "1h"}]}, "timeline[0].fail_link", "not a link"),
        ({"timeline": [{"at": "1d", "fail_link": "Denver--Kansas City"}]}, "timeline[0]", "or a workforce"),
        ({"timeline": [{"at": "1d", "fail_srlg": "atlantic", "for": "1h"}]}, "timeline[0].fail_srlg", "not a group"),
        ({"timeline": [{"at": "2020-01-01 00:00", "fail_node": "Denver", "for": "1h"}]}, "timeline[0].at", "before"),
        ({"faults": {"maintenance": [{"name": "m", "start": "1d", "duration": "1h"}]}}, "faults.maintenance[0]",
         "name the links or nodes"),
        ({"population.segments.residential.session_volume": {"distribution": "gamma", "k": 2}},
         "population.segments.residential.session_volume", "gamma"),
        ({"population.segments.residential.session_volume": {"distribution": "pareto", "alpha": 0.8, "min_mb": 1}},
         "population.segments.residential.session_volume.pareto.alpha", "greater than 1"),
        # Prices, promotions, bundles, prepaid and organisations (issue 5).
        ({"bundles": [{"id": "duo", "name": "Duo", "offerings": ["fibre-100", "mobile"]}]},
         "bundles[0].offerings", "'mobile' is not an offering"),
        ({"bundles": [{"id": "fibre-100", "name": "Duo", "offerings": ["fibre-100", "fibre-1000"]}]},
         "bundles[0].id", "already an offering"),
        ({"promotions": [{"id": "p", "name": "P", "offerings": ["fibre-100"], "percent_off": 150, "for": "30d"}]},
         "promotions[0].percent_off", "less than or equal to 100"),
        ({"catalog.0.usage_price_per_gb": None, "catalog.0.usage_tiers": [{"from_gb": 5, "price_per_gb": "1"}]},
         "catalog[0]", "must start at from_gb: 0"),
        ({"catalog.0.price_changes": [{"from": "2026-04-20", "monthly_price": "31"},
                                      {"from": "2026-04-10", "monthly_price": "32"}]},
         "catalog[0].price_changes[1].from", "after the start, in order"),
        ({"catalog.0.prepaid": True}, "catalog[0]", "pay as you go"),
        ({"catalog.0.monthly_price": "0", "catalog.0.prepaid": True}, "population.segments.residential.offerings",
         "give the segment's prepaid top-ups"),
        ({"catalog.0.lifecycle_status": "Retired"}, "catalog[0].lifecycle_status", "cannot be ordered"),
        ({"population.segments.residential.sites": 3, "population.segments.residential.party": "individual"},
         "population.segments.residential.sites", "only an organisation"),
        ({"ordering.fallout": {"max_retries": -1}}, "ordering.fallout.max_retries", "greater than or equal to 0"),
        ({"catalog.1.lifecycle_status": "Retired", "population.segments.residential.offerings": {"duo": 1},
          "bundles": [{"id": "duo", "name": "Duo", "offerings": ["fibre-100", "fibre-1000"]}]},
         "catalog[1].lifecycle_status", "cannot be ordered"),
        ({"catalog.2.usage_price_per_gb": "10", "catalog.2.off_peak": {"hours": [1], "percent": 1000}},
         "catalog[2].tiers", "must stay under 9.000000 per GB"),
        ({"promotions": [{"id": "p", "name": "P", "offerings": ["fibre-100"], "percent_off": 10, "for": "30d"},
                         {"id": "p", "name": "Q", "offerings": ["fibre-100"], "percent_off": 20, "for": "30d"}]},
         "promotions[1].id", "already an offering, bundle or promotion id"),
    ],
)
def test_impossible_parameters_are_rejected_at_check(cli, write_scenario, changes, key, reason):
    path = write_scenario(changes)
    assert_one_line_error(cli(path, "--check"), f"{key}: ", reason)


def test_a_run_ended_by_sigterm_leaves_no_half_written_folder(write_scenario, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    path = write_scenario({"population.customers": 200000, "ordering.arrivals_per_day": 100000})
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_scenario.py"), str(path), "--out", str(tmp_path / "run"), "-q"],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.time() + 60
    while not list(tmp_path.glob(".run.partial-*")) and time.time() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.glob(".run.partial-*")), "the run never started writing"
    proc.send_signal(signal.SIGTERM)  # our own child, by its id
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    assert not (tmp_path / "run").exists() and not list(tmp_path.glob(".run.partial-*"))
