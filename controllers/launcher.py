"""Start the controller: ``python -m controllers.launcher --ofp-port P --api-port Q``.

os-ken no longer ships ``osken-manager``; this is the small launcher it
leaves to applications. It loads the project's application, os-ken's link
discovery (``os_ken.topology.switches``, with LLDP) and the ofctl service
that turns requests into replies, listens for switches on loopback only, and
runs until it is terminated.
"""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ofp-port", type=int, required=True, help="OpenFlow port to listen on (127.0.0.1)")
    parser.add_argument("--api-port", type=int, required=True, help="northbound API port (127.0.0.1)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)

    from os_ken import cfg
    from os_ken.base.app_manager import AppManager
    from os_ken.topology import switches  # noqa: F401 - registers --observe-links

    cfg.CONF.register_opts([cfg.IntOpt("telcolab_api_port", default=args.api_port)])
    cfg.CONF(args=["--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port", str(args.ofp_port), "--observe-links"],
             project="os_ken")  # fmt: skip
    AppManager.run_apps(["controllers.app", "os_ken.topology.switches", "os_ken.app.ofctl.service"])


if __name__ == "__main__":
    main()
