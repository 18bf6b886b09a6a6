#!/usr/bin/env bash
# The emulated network's system parts, for `--backend mininet` and `make test-emulation`.
# Run as root. Idempotent, and fast on a second run (it installs only what is missing):
#   - Debian packages: Open vSwitch, Mininet, iperf3, ping, ethtool, iproute2;
#   - Open vSwitch started without systemd (ovs-ctl; a no-op when it runs);
#   - os-ken (the maintained Ryu fork) in the project's virtual environment, and
#     Debian's Mininet package linked into it (Mininet is not on PyPI in a usable form).
# See ../shared/EMULATION.md of the project for why each step is as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"

if [ "$(id -u)" != 0 ]; then
    echo "setup-emulation: run as root (it installs Debian packages and starts Open vSwitch)" >&2
    exit 2
fi

need=()
command -v ovs-vsctl >/dev/null || need+=(openvswitch-switch)
command -v mnexec >/dev/null || need+=(mininet)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v ping >/dev/null || need+=(iputils-ping)
command -v ethtool >/dev/null || need+=(ethtool)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
    echo "setup-emulation: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Open vSwitch without systemd; the kernel module is missing here, so bridges
# use the userspace datapath (datapath_type=netdev), which ovs-vswitchd provides.
if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
    /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random >/dev/null 2>&1 || true
    ovs-vsctl --timeout=10 show >/dev/null
fi

# Python side: the project's venv (made by `make`), os-ken from PyPI, Mininet from Debian.
if [ ! -x "$VENV/bin/python" ]; then
    make --no-print-directory "$VENV/.installed"
fi
"$VENV/bin/python" -c 'import os_ken' 2>/dev/null || \
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test,emulation]'

site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ ! -e "$site/mininet" ]; then
    ln -s /usr/lib/python3/dist-packages/mininet "$site/mininet"
fi
"$VENV/bin/python" -c 'import mininet.net, os_ken.base.app_manager' 
echo "setup-emulation: ready (Open vSwitch $(ovs-vsctl --version | head -1 | awk '{print $NF}'), $("$VENV/bin/python" -c 'import os_ken, sys; print("os-ken", getattr(os_ken, "__version__", "?"))'))"
