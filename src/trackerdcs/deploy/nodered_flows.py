"""The Node-RED flows of the control UI, generated from the stand file (FlowFuse Dashboard 2).

Per supply channel: a switch, a voltage setpoint and readbacks (set, vmon, imon, state).
Per module: on and off buttons and its state. The active alarms in a table, where a click
acknowledges one. Every command goes out on the MQTT contract, and the device's reply
(``ok: ...`` or ``refused: <reason>: <message>``) is shown beside the widgets that sent it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from trackerdcs.contract.topics import DeviceTopics, InterlockTopics
from trackerdcs.deploy.nodered_js import ACK_JS, ALARMS_JS, CHANNEL_JS, MODULE_JS, REPLY_JS
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.safety.config import ModuleConfig
from trackerdcs.stand import Stand

Node = dict[str, Any]
SUPPLY_KINDS = ("hv", "lv")
DASHBOARD_PATH = "/dashboard"
BUTTON = {
    "icon": "", "iconPosition": "left", "tooltip": "", "color": "", "bgcolor": "", "buttonColor": "",
    "textColor": "", "iconColor": "", "emulateClick": False, "enableClick": True,
    "enablePointerdown": False, "pointerdownPayload": "", "pointerdownPayloadType": "str",
    "enablePointerup": False, "pointerupPayload": "", "pointerupPayloadType": "str",
}  # fmt: skip
TAB = "dcs-flows"
BROKER = "dcs-broker"
TLS = "dcs-broker-tls"


def node_id(*parts: object) -> str:
    """A stable 16-hex-digit id, so regenerating gives the same flows (and a readable diff)."""
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:16]


def supplies(stand: Stand) -> list[DeviceConfig]:
    return [d for d in stand.devices if d.kind in SUPPLY_KINDS and d.channels > 0]


class FlowBuilder:
    """Accumulates nodes; each ``add`` places the next node on the editor's canvas."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self._row = 0

    def add(self, node: Node, *, canvas: bool = True) -> str:
        if canvas:
            node.setdefault("z", TAB)
            node.setdefault("x", 200 + 220 * (len(self.nodes) % 4))
            node.setdefault("y", 40 + 40 * (len(self.nodes) // 4))
        self.nodes.append(node)
        return str(node["id"])

    def widget(self, kind: str, key: tuple[object, ...], group: str, order: int, **fields: Any) -> str:
        node = {"id": node_id(*key), "type": kind, "group": group, "order": order, "width": 0, "height": 0}
        node.update(fields)
        node.setdefault("wires", [])
        return self.add(node)

    def mqtt_in(self, topic: str, datatype: str, wires: list[list[str]]) -> str:
        return self.add(
            {
                "id": node_id("in", topic),
                "type": "mqtt in",
                "name": topic,
                "topic": topic,
                "qos": "1",
                "datatype": datatype,
                "broker": BROKER,
                "nl": False,
                "rap": True,
                "rh": 0,
                "inputs": 0,
                "wires": wires,
            }
        )

    def function(self, key: tuple[object, ...], name: str, code: str, wires: list[list[str]]) -> str:
        return self.add(
            {
                "id": node_id("fn", *key),
                "type": "function",
                "name": name,
                "func": code,
                "outputs": len(wires),
                "wires": wires,
            }
        )


def broker_nodes(mqtt_url: str) -> list[Node]:
    """The broker node, and for ``mqtts://`` a TLS node: ``?ca=/path`` names the CA file inside
    the container (the system's CAs otherwise); the server certificate is always verified."""
    url = urlsplit(mqtt_url)
    if url.scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
        raise ValueError(f"Node-RED: unsupported MQTT URL scheme {url.scheme!r} in {mqtt_url!r}")
    tls = url.scheme in ("mqtts", "ssl")
    broker: Node = {
        "id": BROKER,
        "type": "mqtt-broker",
        "name": "stand broker",
        "broker": url.hostname or "mosquitto",
        "port": str(url.port or (8883 if tls else 1883)),
        "clientid": "",
        "autoConnect": True,
        "usetls": tls,
        "protocolVersion": "5",
        "keepalive": "30",
        "cleansession": True,
        "autoUnsubscribe": True,
    }
    if not tls:
        return [broker]
    broker["tls"] = TLS
    ca = parse_qs(url.query).get("ca", [""])[0]
    files = {"cert": "", "key": "", "ca": ca, "certname": "", "keyname": "", "caname": "", "servername": ""}
    return [
        broker,
        {"id": TLS, "type": "tls-config", "name": "broker TLS", **files, "verifyservercert": True},
    ]


def config_nodes(stand: Stand) -> list[Node]:
    """Dashboard base, theme and page, one for the whole stand."""
    return [
        {"id": TAB, "type": "tab", "label": f"{stand.name} control", "disabled": False, "info": ""},
        {
            "id": "dcs-ui-base",
            "type": "ui-base",
            "name": f"{stand.name} DCS",
            "path": DASHBOARD_PATH,
            "includeClientData": True,
            "acceptsClientConfig": ["ui-notification", "ui-control"],
            "showPathInSidebar": False,
            "navigationStyle": "default",
            "titleBarStyle": "default",
        },
        {
            "id": "dcs-ui-theme",
            "type": "ui-theme",
            "name": "DCS",
            "colors": {
                "surface": "#1d3557",
                "primary": "#1d6fb8",
                "bgPage": "#f4f6f8",
                "groupBg": "#ffffff",
                "groupOutline": "#c8d0d8",
            },
        },
        {
            "id": "dcs-ui-page",
            "type": "ui-page",
            "name": "Control",
            "ui": "dcs-ui-base",
            "path": "/control",
            "icon": "tune",
            "layout": "grid",
            "theme": "dcs-ui-theme",
            "order": 1,
            "className": "",
            "visible": "true",
            "disabled": "false",
        },
    ]


def group(builder: FlowBuilder, key: str, name: str, order: int, width: int = 4) -> str:
    return builder.add(
        {
            "id": node_id("group", key),
            "type": "ui-group",
            "name": name,
            "page": "dcs-ui-page",
            "width": str(width),
            "height": "1",
            "order": order,
            "showTitle": True,
            "className": f"dcs-group-{key}",
            "visible": "true",
            "disabled": "false",
        },
        canvas=False,
    )


def text(
    builder: FlowBuilder,
    key: tuple[object, ...],
    grp: str,
    order: int,
    label: str,
    css: str,
    wrap: bool = False,
) -> str:
    layout = "col-left" if wrap else "row-spread"
    return builder.widget(
        "ui-text", key, grp, order, label=label, format="{{msg.payload}}", layout=layout, wrapText=wrap,
        className=css,
    )  # fmt: skip


def reply_chain(builder: FlowBuilder, device: str, grp: str, order: int, notify: str) -> None:
    """Show every reply of ``device``; rejections also pop up a notification."""
    shown = text(builder, ("reply", device), grp, order, "Last reply", f"dcs-{device}-reply", wrap=True)
    fmt = builder.function(("reply", device), f"{device} reply", REPLY_JS, [[shown], [notify]])
    builder.mqtt_in(DeviceTopics(device).reply, "json", [[fmt]])


def mqtt_out(builder: FlowBuilder, name: str) -> str:
    """One publisher per device; the topic comes from the widget that sent the command."""
    return builder.add(
        {"id": node_id("out", name), "type": "mqtt out", "name": f"{name} commands", "topic": "",
         "qos": "1", "retain": "false", "broker": BROKER, "wires": []}
    )  # fmt: skip


def supply_channel(builder: FlowBuilder, device: DeviceConfig, ch: int, grp: str, out: str) -> str:
    """The widgets of one channel; returns the id of the status splitter that feeds them."""
    topics, css, base = DeviceTopics(device.name), f"dcs-{device.name}-{ch}", 10 * ch
    switch = builder.widget(
        "ui-switch", (device.name, ch, "switch"), grp, base + 1, label=f"ch {ch} output",
        passthru=False, decouple=True, topic=topics.cmd("switch", ch), topicType="str",
        onvalue="on", onvalueType="str", offvalue="off", offvalueType="str", className=f"{css}-switch",
        wires=[[out]],
    )  # fmt: skip
    # A plain number field: no clamping to the limits in the browser (typing 50 must not quietly
    # set 12 V); the device checks the value against its limits and its refusal is shown.
    builder.widget(
        "ui-text-input", (device.name, ch, "setv"), grp, base + 2, label=f"ch {ch} set voltage (V)",
        topic=topics.cmd("setv", ch), topicType="str", mode="number", tooltip=f"0 to {device.vmax:g} V",
        passthru=False, sendOnDelay=False, sendOnBlur=False, sendOnEnter=True, clearable=False,
        sendOnClear=False, icon="", className=f"{css}-setv", wires=[[out]],
    )  # fmt: skip
    readbacks = [
        text(builder, (device.name, ch, key), grp, base + 3 + i, f"ch {ch} {label}", f"{css}-{key}")
        for i, (key, label) in enumerate(
            [("vreq", "set"), ("vmon", "vmon"), ("imon", "imon"), ("state", "state")]
        )
    ]
    iscale, iunit = (1e6, "µA") if device.kind == "hv" else (1.0, "A")
    code = (
        CHANNEL_JS.replace("@CHANNEL@", str(ch))
        .replace("@ISCALE@", repr(iscale))
        .replace("@IUNIT@", json.dumps(iunit))
    )
    return builder.function(
        (device.name, ch), f"{device.name} ch {ch}", code, [[switch]] + [[r] for r in readbacks]
    )


def supply(builder: FlowBuilder, device: DeviceConfig, order: int, notify: str) -> None:
    grp = group(builder, device.name, f"{device.name} ({device.kind.upper()} supply)", order)
    out = mqtt_out(builder, device.name)
    splitters = [supply_channel(builder, device, ch, grp, out) for ch in range(device.channels)]
    builder.mqtt_in(DeviceTopics(device.name).status, "json", [splitters])
    reply_chain(builder, device.name, grp, 10 * device.channels + 1, notify)


def module(builder: FlowBuilder, config: ModuleConfig, grp: str, order: int, notify: str) -> None:
    name, out = config.name, mqtt_out(builder, config.name)
    state = text(
        builder, (name, "state"), grp, order, f"{name} ({config.lv}, {config.hv})", f"dcs-{name}-state"
    )
    builder.mqtt_in(
        DeviceTopics(name).status,
        "json",
        [[builder.function((name, "state"), f"{name} state", MODULE_JS, [[state]])]],
    )
    for i, action in enumerate(("on", "off")):
        builder.widget(
            "ui-button", (name, action), grp, order + 1 + i, label=f"{name} {action}", payload="",
            payloadType="str", topic=DeviceTopics(name).cmd(action), topicType="str",
            className=f"dcs-{name}-{action}", wires=[[out]], **BUTTON,
        )  # fmt: skip
    reply_chain(builder, name, grp, order + 3, notify)


def alarms(builder: FlowBuilder, stand: Stand, order: int, notify: str) -> None:
    topics = InterlockTopics(stand.interlock.name)
    grp = group(builder, "alarms", "Alarms (click a row to acknowledge)", order, width=8)
    out = mqtt_out(builder, topics.device)
    ack = builder.function(
        ("ack",), "acknowledge", ACK_JS.replace("@TOPIC@", json.dumps(topics.cmd("ack"))), [[out]]
    )
    table = builder.widget(
        "ui-table", ("alarms", "table"), grp, 1, label="Active and unacknowledged alarms", maxrows=0,
        passthru=False, autocols=True, showSearch=False, selectionType="click", action="replace",
        className="dcs-alarms", wires=[[ack]],
    )  # fmt: skip
    rows = builder.function(("alarms",), "alarm rows", ALARMS_JS, [[table]])
    builder.mqtt_in(topics.alarms, "json", [[rows]])
    reply_chain(builder, topics.device, grp, 2, notify)


def build_flows(stand: Stand, mqtt_url: str) -> list[Node]:
    """Every node of the control UI, the MQTT broker node included (its credentials apart)."""
    builder = FlowBuilder()
    notify = builder.widget(
        "ui-notification", ("notification",), "", 0, ui="dcs-ui-base", position="top right",
        colorDefault=False, color="#c0392b", displayTime="6", showCountdown=True, outputs=0,
        allowDismiss=True, dismissText="Close", allowConfirm=False, raw=False, className="dcs-refusal",
    )  # fmt: skip
    for node in (_node(builder, notify),):
        del node["group"], node["order"], node["width"], node["height"]
    for i, device in enumerate(supplies(stand)):
        supply(builder, device, i + 1, notify)
    if stand.modules:
        grp = group(builder, "modules", "Modules", len(supplies(stand)) + 1)
        for i, config in enumerate(stand.modules):
            module(builder, config, grp, 10 * i + 1, notify)
    if stand.has_safety:
        alarms(builder, stand, len(supplies(stand)) + 2, notify)
    return [*config_nodes(stand), *broker_nodes(mqtt_url), *builder.nodes]


def _node(builder: FlowBuilder, nid: str) -> Node:
    return next(n for n in builder.nodes if n["id"] == nid)
