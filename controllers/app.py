"""The os-ken (Ryu) application: pushes the pure flow logic to Open vSwitch and reads the switches back.

It runs in its own process (started by :mod:`controllers.launcher`), with a
small northbound JSON API on loopback, for three reasons: os-ken owns its
event loop and threads (a run's SimPy loop must not share them); a crash or
a hang of the controller cannot take the operator down with it; and it is
how an SDN controller is deployed for real (the OSS talks to it over a
northbound API), so the boundary a user sees is the true one.

Northbound API (JSON over HTTP on 127.0.0.1):

* ``GET /switches``: the datapath ids connected;
* ``POST /flows`` ``{"rules": [...], "meters": [...]}``: install meters, then
  rules (proactively, at activation), and wait for the switches' barrier
  replies, so the flows are in place when the call returns;
* ``DELETE /flows/<cookie>?meters=a,b``: remove a service's rules (and meters);
* ``GET /flow-stats``, ``GET /port-stats``: polled counters;
* ``GET /events?since=N``: port status changes (link down and up) seen since;
* ``GET /links``: the links found by LLDP discovery (``os_ken.topology``).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from os_ken.app.ofctl import api as ofctl
from os_ken.base import app_manager
from os_ken.cfg import CONF
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3
from os_ken.topology import api as topology

from controllers.flows import IPV4


class TelcolabController(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datapaths: dict[int, object] = {}
        self.port_events: list[dict] = []  # not ``events``: OSKenApp's own event queue has that name
        self.nb_lock = threading.Lock()
        port = CONF.telcolab_api_port
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        hub.spawn(self.server.serve_forever)

    # -- southbound ----------------------------------------------------------

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _features(self, ev):
        """A switch connects: a table-miss that drops (nothing passes unprovisioned), LLDP to the controller.

        The bridges are new for each run, so there is nothing to clear. With a
        table-wide delete here, os-ken's link discovery sometimes never saw one
        port's LLDP (2 test runs in 11); without it, none in 8.
        """
        dp = ev.msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        dp.send_msg(parser.OFPFlowMod(dp, priority=0, match=parser.OFPMatch(), instructions=[]))
        # LLDP to the controller, for link discovery (os_ken.topology adds its own rule as well).
        to_me = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS,
                                              [parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)])]
        dp.send_msg(parser.OFPFlowMod(dp, priority=65535, match=parser.OFPMatch(eth_type=0x88CC), instructions=to_me))
        with self.nb_lock:
            self.datapaths[dp.id] = dp

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _port_status(self, ev):
        """A port went down or came up: kept for the network adapter to read (``/events``)."""
        msg = ev.msg
        ofp = msg.datapath.ofproto
        desc = msg.desc
        up = not (desc.state & ofp.OFPPS_LINK_DOWN) and not (desc.config & ofp.OFPPC_PORT_DOWN)
        with self.nb_lock:
            self.port_events.append({"seq": len(self.port_events) + 1, "time": time.time(), "dpid": msg.datapath.id,
                                "port_no": desc.port_no, "up": bool(up), "reason": int(msg.reason)})  # fmt: skip

    # -- northbound ----------------------------------------------------------

    def install(self, rules: list[dict], meters: list[dict]) -> int:
        touched = {}
        for m in meters:
            dp = self._dp(m["dpid"])
            ofp, parser = dp.ofproto, dp.ofproto_parser
            bands = [parser.OFPMeterBandDrop(rate=m["rate_kbps"], burst_size=m["burst_kb"])]
            for command in (ofp.OFPMC_DELETE, ofp.OFPMC_ADD):  # replace: a modify re-provisions the rate
                dp.send_msg(parser.OFPMeterMod(dp, command=command, flags=ofp.OFPMF_KBPS | ofp.OFPMF_BURST,
                                               meter_id=m["meter_id"], bands=bands if command == ofp.OFPMC_ADD else []))  # fmt: skip
            touched[dp.id] = dp
        for r in rules:
            dp = self._dp(r["dpid"])
            ofp, parser = dp.ofproto, dp.ofproto_parser
            match = parser.OFPMatch(in_port=r["in_port"], eth_type=IPV4, ipv4_src=r["ipv4_src"], ipv4_dst=r["ipv4_dst"])
            instructions = []
            if r.get("meter_id"):
                instructions.append(parser.OFPInstructionMeter(r["meter_id"], ofp.OFPIT_METER))
            instructions.append(parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS,
                                                             [parser.OFPActionOutput(r["out_port"])]))
            dp.send_msg(parser.OFPFlowMod(dp, cookie=r["cookie"], priority=r["priority"], match=match,
                                          instructions=instructions))  # fmt: skip
            touched[dp.id] = dp
        self._barrier(touched.values())
        return len(rules)

    def remove(self, cookie: int, meters: list[int]) -> None:
        with self.nb_lock:
            dps = list(self.datapaths.values())
        for dp in dps:
            ofp, parser = dp.ofproto, dp.ofproto_parser
            dp.send_msg(parser.OFPFlowMod(dp, cookie=cookie, cookie_mask=0xFFFFFFFFFFFFFFFF, table_id=ofp.OFPTT_ALL,
                                          command=ofp.OFPFC_DELETE, out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY))  # fmt: skip
            for meter_id in meters:
                dp.send_msg(parser.OFPMeterMod(dp, command=ofp.OFPMC_DELETE, meter_id=meter_id))
        self._barrier(dps)

    def flow_stats(self) -> list[dict]:
        out = []
        for dp in self._all():
            parser = dp.ofproto_parser
            for reply in ofctl.send_msg(self, parser.OFPFlowStatsRequest(dp), reply_cls=parser.OFPFlowStatsReply,
                                        reply_multi=True) or []:  # fmt: skip
                for s in reply.body:
                    if s.cookie == 0:
                        continue
                    fields = dict(s.match.items())
                    out.append({"dpid": dp.id, "cookie": s.cookie, "in_port": fields.get("in_port"),
                                "ipv4_src": fields.get("ipv4_src"), "ipv4_dst": fields.get("ipv4_dst"),
                                "bytes": s.byte_count, "packets": s.packet_count})  # fmt: skip
        return out

    def port_stats(self) -> list[dict]:
        out = []
        for dp in self._all():
            ofp, parser = dp.ofproto, dp.ofproto_parser
            request = parser.OFPPortStatsRequest(dp, 0, ofp.OFPP_ANY)
            for reply in ofctl.send_msg(self, request, reply_cls=parser.OFPPortStatsReply, reply_multi=True) or []:
                for s in reply.body:
                    out.append({"dpid": dp.id, "port_no": s.port_no, "rx_bytes": s.rx_bytes, "tx_bytes": s.tx_bytes,
                                "rx_packets": s.rx_packets, "tx_packets": s.tx_packets, "tx_dropped": s.tx_dropped})  # fmt: skip
        return out

    def links(self) -> list[dict]:
        return [{"src_dpid": link.src.dpid, "src_port": link.src.port_no, "dst_dpid": link.dst.dpid,
                 "dst_port": link.dst.port_no} for link in topology.get_link(self)]  # fmt: skip

    def _dp(self, dpid: int):
        with self.nb_lock:
            dp = self.datapaths.get(dpid)
        if dp is None:
            raise KeyError(f"switch {dpid} is not connected")
        return dp

    def _all(self) -> list:
        with self.nb_lock:
            return list(self.datapaths.values())

    def _barrier(self, dps) -> None:
        for dp in dps:
            ofctl.send_msg(self, dp.ofproto_parser.OFPBarrierRequest(dp), reply_cls=dp.ofproto_parser.OFPBarrierReply)


def _handler(app: TelcolabController):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: the run's event log is the record
            pass

        def _reply(self, status: int, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _guard(self, fn):
            try:
                self._reply(200, fn())
            except KeyError as exc:
                self._reply(409, {"error": str(exc)})
            except Exception as exc:  # noqa: BLE001 - the caller gets the reason, the controller lives on
                self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/switches":
                self._guard(lambda: sorted(dp.id for dp in app._all()))
            elif url.path == "/flow-stats":
                self._guard(app.flow_stats)
            elif url.path == "/port-stats":
                self._guard(app.port_stats)
            elif url.path == "/links":
                self._guard(app.links)
            elif url.path == "/events":
                since = int(parse_qs(url.query).get("since", ["0"])[0])
                with app.nb_lock:
                    events = [e for e in app.port_events if e["seq"] > since]
                self._reply(200, events)
            else:
                self._reply(404, {"error": f"no {url.path}"})

        def do_POST(self):
            if urlparse(self.path).path != "/flows":
                return self._reply(404, {"error": "POST /flows only"})
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            self._guard(lambda: {"installed": app.install(body.get("rules", []), body.get("meters", []))})

        def do_DELETE(self):
            url = urlparse(self.path)
            if not url.path.startswith("/flows/"):
                return self._reply(404, {"error": "DELETE /flows/<cookie> only"})
            meters = [int(m) for m in parse_qs(url.query).get("meters", [""])[0].split(",") if m]
            self._guard(lambda: app.remove(int(url.path.rsplit("/", 1)[1]), meters) or {"removed": True})

    return Handler
