"""The JavaScript of the flows' function nodes; ``@NAME@`` marks what the generator fills in."""

REPLY_JS = """\
const r = msg.payload || {};
const what = [r.command, r.channel, r.payload].filter(x => x !== null && x !== undefined && x !== "");
msg.payload = r.ok
    ? `ok: ${what.join(" ")}` + (r.message ? ` (${r.message})` : "")
    : `refused: ${r.reason}: ${r.message}`;
return [msg, r.ok ? null : { payload: `${r.device}: ${msg.payload}` }];
"""

CHANNEL_JS = """\
const ch = (Array.isArray(msg.payload) ? msg.payload : []).find(c => c.number === @CHANNEL@);
if (!ch) { return null; }
const fmt = (v, scale, unit, digits) =>
    typeof v === "number" ? (v * scale).toFixed(digits) + " " + unit : "-";
return [
    { payload: ch.on ? "on" : "off" },
    { payload: fmt(ch.vreq, 1, "V", 2) },
    { payload: fmt(ch.vmon, 1, "V", 2) },
    { payload: fmt(ch.imon, @ISCALE@, @IUNIT@, 3) },
    { payload: String(ch.state) },
];
"""

MODULE_JS = """\
const m = msg.payload || {};
const parts = [String(m.state) + (m.reason ? ` (${m.reason})` : "")];
if (m.sequence && m.sequence !== "idle") { parts.push(`${m.sequence} sequence running`); }
if (m.error) { parts.push(`error: ${m.error}`); }
msg.payload = parts.join(", ");
return msg;
"""

ALARMS_JS = """\
const rows = (Array.isArray(msg.payload) ? msg.payload : []).map(a => ({
    id: a.id,
    severity: a.severity,
    state: (a.active ? "ACTIVE" : "cleared") + (a.acknowledged ? "" : ", unacked"),
    message: a.message,
    raised: new Date(a.raised_at * 1000).toISOString().slice(11, 19),
    acked_by: a.acked_by || "",
}));
msg.payload = rows;
return msg;
"""

ACK_JS = """\
const row = msg.payload || {};
if (!row.id) { return null; }
const user = (msg._client && msg._client.user && msg._client.user.username) || "dashboard";
return { topic: @TOPIC@, payload: JSON.stringify({ id: row.id, by: user }) };
"""
