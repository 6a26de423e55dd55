"use strict";
// The console page: pending questions live over server-sent events, answers POSTed as JSON,
// and the audit log. Everything from servers is shown as text (never parsed as HTML).
const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const DECISIONS = ["approved", "edited", "rejected", "refused", "reply edited", "reply rejected"];
const PALETTE = ["#3b5bdb", "#2b8a3e", "#e67700", "#c2255c", "#1098ad", "#7048e8", "#5c940d", "#d9480f"];

// At most n characters (whole code points), with an ellipsis when cut.
function clip(text, n) {
  const cs = Array.from(text || "");
  return cs.length > n ? cs.slice(0, n).join("") + "…" : cs.join("");
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

async function api(path, body) {
  const opts = { headers: { "x-console-token": token } };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["content-type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

// ---- pending questions ----
const cards = new Map();

function updateCount() {
  const n = [...cards.values()].filter((c) => !c.classList.contains("gone")).length;
  $("count").textContent = n;
  $("count").classList.toggle("some", n > 0);
  $("empty").classList.toggle("hidden", cards.size > 0);
  document.title = (n ? `(${n}) ` : "") + "mcp-sampling console";
}

function describe(c) {
  switch (c.type) {
    case "text": return document.createTextNode(c.text);
    case "image":
      if (IMAGE_TYPES.includes(c.mimeType) && /^[A-Za-z0-9+/=\s]*$/.test(c.data || "")) {
        return el("img", { src: `data:${c.mimeType};base64,${c.data}`, alt: "image from the server" });
      }
      return el("span", { class: "muted", text: `[image ${c.mimeType}]` });
    case "audio": return el("span", { class: "muted", text: `[audio ${c.mimeType}, ${(c.data || "").length} bytes base64]` });
    case "tool_use": return el("span", { class: "mono", text: `tool use ${c.name} ${JSON.stringify(c.input)}` });
    case "tool_result": {
      const parts = (c.content || []).map((x) => (x.type === "text" ? x.text : `[${x.type}]`));
      return el("span", { class: "mono", text: `tool result for ${c.toolUseId}: ${parts.join(" ")}` });
    }
    default: return el("span", { class: "muted", text: `[${c.type}]` });
  }
}

function blocks(content) {
  return Array.isArray(content) ? content : content ? [content] : [];
}

function message(m) {
  const box = el("div", { class: `msg ${m.role}` }, el("span", { class: "role", text: m.role }));
  blocks(m.content).forEach((c, i) => { if (i) box.append(document.createElement("br")); box.append(describe(c)); });
  return box;
}

function section(label, ...kids) {
  return el("div", {}, el("div", { class: "label", text: label }), ...kids);
}

function lastUserText(params) {
  const m = [...(params.messages || [])].reverse().find((x) => x.role === "user");
  return m ? blocks(m.content).filter((c) => c.type === "text").map((c) => c.text).join("\n") : "";
}

function head(q, title) {
  const h = el("div", { class: "card-head" }, el("h3", { text: title }), el("span", { class: "pill", text: `${q.era} · ${q.protocolVersion}` }));
  if (q.toolCall) {
    const call = `${q.toolCall.name} ${JSON.stringify(q.toolCall.arguments)}`;
    h.append(el("span", { class: "mono call", title: call, text: `for ${clip(call, 140)}` }));
  }
  h.append(el("span", { class: "muted", text: new Date(q.atMs).toLocaleTimeString() }));
  return h;
}

function prefs(p) {
  if (!p) return null;
  const parts = [];
  if (p.hints && p.hints.length) parts.push("hints " + p.hints.map((h) => h.name).join(", "));
  for (const k of ["costPriority", "speedPriority", "intelligencePriority"]) if (p[k] != null) parts.push(`${k.replace("Priority", "")} ${p[k]}`);
  return parts.join(" · ") || null;
}

function toolDef(t) {
  return el("details", { class: "tool", "data-testid": "tool" },
    el("summary", {}, el("span", { class: "chip mono", text: t.name }), " ", el("span", { class: "muted", text: t.description || "" })),
    el("pre", { class: "mono schema", text: JSON.stringify(t.inputSchema, null, 2) }));
}

function requestBody(q) {
  const p = q.params;
  const body = el("div", { class: "card-body" });
  if (q.warnings && q.warnings.length) {
    body.append(el("ul", { class: "warnings", "data-testid": "warnings" }, ...q.warnings.map((w) => el("li", { text: w }))));
  }
  if (p.systemPrompt) body.append(section("System prompt", el("div", { class: "system", text: p.systemPrompt })));
  body.append(section("Messages (all written by the server, the user ones too)", el("div", { class: "msgs" }, ...(p.messages || []).map(message))));
  if (p.tools && p.tools.length) {
    body.append(section("Tools offered to the model", el("div", { class: "tools" }, ...p.tools.map(toolDef))));
  }
  const facts = el("div", { class: "facts" });
  const fact = (k, v) => facts.append(el("span", {}, el("b", { text: k + " " }), v));
  fact("maxTokens", String(p.maxTokens));
  fact("model", el("span", { class: "pill model", text: q.model }));
  const pr = prefs(p.modelPreferences);
  if (pr) fact("preferences", pr);
  if (p.temperature != null) fact("temperature", String(p.temperature));
  if (p.includeContext) fact("includeContext", p.includeContext);
  body.append(facts);
  return body;
}

function replyBody(q) {
  const r = q.reply;
  const body = el("div", { class: "card-body" });
  body.append(section("Reply", el("div", { class: "msgs" }, message({ role: r.role || "assistant", content: r.content }))));
  body.append(el("div", { class: "facts" },
    el("span", {}, el("b", { text: "model " }), el("span", { class: "pill model", text: r.model })),
    el("span", {}, el("b", { text: "stop " }), r.stopReason || "unknown")));
  return body;
}

function replyText(r) {
  return blocks(r.content).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

function button(label, testid, cls, onclick) {
  return el("button", { class: `btn ${cls || ""}`, "data-testid": testid, type: "button", onclick }, label);
}

async function send(card, id, answer) {
  card.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  // Set before the POST: the stream may say "answered" before the POST's answer comes.
  card.dataset.answered = "yes";
  try {
    await api(`/api/pending/${id}`, answer);
  } catch (e) {
    delete card.dataset.answered;
    card.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    notice(card, `Not taken: ${e.message}`, "bad");
  }
}

function notice(card, text, kind) {
  let n = card.querySelector(".notice");
  if (!n) { n = el("div", { class: "notice" }); card.append(n); }
  n.className = `notice ${kind}`;
  n.textContent = text;
}

function actions(card, q) {
  const bar = el("div", { class: "actions" });
  const isRequest = q.kind === "request";
  const reset = () => { bar.replaceChildren(...main()); };
  const editor = () => {
    const kids = [];
    let sys = null;
    if (isRequest) {
      sys = el("textarea", { "data-testid": "edit-system", rows: "2", placeholder: "system prompt (empty for none)" });
      sys.value = q.params.systemPrompt || "";
      kids.push(el("div", { class: "label", text: "System prompt" }), sys);
    }
    const text = el("textarea", { "data-testid": "edit-text" });
    text.value = isRequest ? lastUserText(q.params) : replyText(q.reply);
    kids.push(el("div", { class: "label", text: isRequest ? "Last user message" : "Reply text" }), text);
    const go = () => send(card, q.id, isRequest ? { action: "edit", text: text.value, system: sys.value } : { action: "edit", text: text.value });
    const row = el("div", { class: "actions-row" },
      button(isRequest ? "Approve edited" : "Send edited", isRequest ? "approve-edited" : "send-edited", "primary", go), " ",
      button("Cancel", "cancel", "", reset));
    bar.replaceChildren(el("div", { class: "editor" }, ...kids, row));
    text.focus();
  };
  const rejecter = () => {
    const reason = el("input", { type: "text", "data-testid": "reject-reason", placeholder: "reason (sent to the server)", size: "48" });
    bar.replaceChildren(reason,
      button(isRequest ? "Reject request" : "Reject reply", "reject-confirm", "danger solid", () => send(card, q.id, { action: "reject", reason: reason.value })),
      button("Cancel", "cancel", "", reset));
    reason.focus();
  };
  const main = () => isRequest
    ? [button("Approve", "approve", "primary", () => send(card, q.id, { action: "approve" })),
       button("Edit prompt…", "edit", "", editor),
       button("Reject…", "reject", "danger", rejecter),
       button(`Trust ${q.server} for this session`, "trust", "", () => send(card, q.id, { action: "trust" }))]
    : [button("Send", "send", "primary", () => send(card, q.id, { action: "send" })),
       button("Edit…", "edit", "", editor),
       button("Reject…", "reject", "danger", rejecter)];
  reset();
  return bar;
}

// ---- forms (elicitation) ----
const INPUT_TYPES = { email: "email", uri: "url", date: "date", "date-time": "datetime-local" };

function choices(p) {
  if (p.oneOf) return p.oneOf.map((o) => [o.const, o.title]);
  if (p.enum) return p.enum.map((v, i) => [v, (p.enumNames || [])[i] || v]);
  return null;
}

// One field: its row, and a function that reads its value (undefined when left empty).
function field(name, p, required) {
  const id = `f-${name}`;
  const label = el("label", { for: id, class: "label", text: (p.title || name) + (required ? " *" : "") });
  const attrs = { id, "data-field": name, "data-testid": `field-${name}` };
  let input, read;
  const opts = choices(p);
  if (p.type === "boolean") {
    input = el("input", { ...attrs, type: "checkbox" });
    input.checked = p.default === true;
    read = () => input.checked;
  } else if (p.type === "array") {
    const items = p.items || {};
    const list = items.anyOf ? items.anyOf.map((o) => [o.const, o.title]) : (items.enum || []).map((v) => [v, v]);
    const boxes = list.map(([v, t]) => {
      const b = el("input", { type: "checkbox", value: v });
      b.checked = Array.isArray(p.default) && p.default.includes(v);
      return [b, el("label", { class: "choice" }, b, " " + t)];
    });
    input = el("div", { ...attrs, class: "choices" }, ...boxes.map(([, l]) => l));
    read = () => boxes.filter(([b]) => b.checked).map(([b]) => b.value);
  } else if (opts) {
    input = el("select", attrs, ...(required ? [] : [el("option", { value: "", text: "—" })]),
      ...opts.map(([v, t]) => el("option", { value: v, text: t })));
    if (p.default != null) input.value = p.default;
    read = () => input.value || undefined;
  } else if (p.type === "number" || p.type === "integer") {
    input = el("input", { ...attrs, type: "number", step: p.type === "integer" ? "1" : "any" });
    if (p.minimum != null) input.min = p.minimum;
    if (p.maximum != null) input.max = p.maximum;
    if (p.default != null) input.value = p.default;
    read = () => (input.value === "" ? undefined : Number(input.value));
  } else {
    input = el("input", { ...attrs, type: INPUT_TYPES[p.format] || "text", size: "40" });
    if (p.default != null) input.value = p.default;
    read = () => {
      if (input.value === "") return undefined;
      return p.format === "date-time" ? new Date(input.value).toISOString() : input.value;
    };
  }
  const row = el("div", { class: "field" }, label, input);
  if (p.description) row.append(el("div", { class: "muted hint", text: p.description }));
  return [row, name, read];
}

function formBody(q) {
  const schema = q.requestedSchema || {};
  const required = schema.required || [];
  const body = el("div", { class: "card-body" });
  body.append(el("div", { class: "system", text: q.message }));
  if (q.error) body.append(el("div", { class: "notice bad", "data-testid": "form-error", text: `Not accepted: ${q.error}` }));
  // The schema's order is not kept on the way: required fields first, each group by name.
  const entries = Object.entries(schema.properties || {});
  const ordered = [...entries.filter(([n]) => required.includes(n)), ...entries.filter(([n]) => !required.includes(n))];
  const fields = ordered.map(([n, p]) => field(n, p, required.includes(n)));
  body.append(el("div", { class: "form" }, ...fields.map(([row]) => row)));
  const read = () => {
    const content = {};
    for (const [, name, get] of fields) {
      const v = get();
      if (v !== undefined && !(Array.isArray(v) && !v.length && !required.includes(name))) content[name] = v;
    }
    return content;
  };
  return [body, read];
}

function formCard(q) {
  const card = el("article", { class: "card form", "data-id": String(q.id), "data-kind": "form" });
  card.append(head(q, `${q.server} asks for input`));
  const [body, read] = formBody(q);
  card.append(body);
  card.append(el("div", { class: "actions" },
    button("Send", "form-submit", "primary", () => send(card, q.id, { action: "accept", content: read() })),
    button("Decline", "form-decline", "", () => send(card, q.id, { action: "decline" })),
    button("Cancel", "form-cancel", "", () => send(card, q.id, { action: "cancel" }))));
  return card;
}

function add(q) {
  if (cards.has(q.id)) return;
  if (q.kind === "form") {
    const card = formCard(q);
    cards.set(q.id, card);
    $("cards").append(card);
    updateCount();
    return;
  }
  const isRequest = q.kind === "request";
  const card = el("article", { class: `card ${q.kind}`, "data-id": String(q.id), "data-kind": q.kind });
  const who = q.claims ? `${q.server} (calls itself ${q.claims})` : q.server;
  card.append(head(q, isRequest ? `${who} asks for a completion` : `Reply for ${who}`));
  card.append(isRequest ? requestBody(q) : replyBody(q));
  card.append(actions(card, q));
  cards.set(q.id, card);
  $("cards").append(card);
  updateCount();
}

function gone(id, why) {
  const card = cards.get(id);
  if (!card) return;
  if (why === "answered" && card.dataset.answered === "yes") {
    cards.delete(id);
    card.remove();
    updateCount();
    return;
  }
  card.classList.add("gone");
  card.querySelector(".actions")?.remove();
  notice(card, why === "answered" ? "Answered in another window" : why.charAt(0).toUpperCase() + why.slice(1), "info");
  updateCount();
  setTimeout(() => { cards.delete(id); card.remove(); updateCount(); }, 5000);
}

function clearAll() {
  cards.forEach((c) => c.remove());
  cards.clear();
  updateCount();
}

function connect() {
  const es = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  const conn = $("conn");
  es.addEventListener("open", () => { conn.className = "conn live"; $("conn-text").textContent = "live"; });
  es.addEventListener("error", () => { conn.className = "conn down"; $("conn-text").textContent = "reconnecting…"; });
  es.addEventListener("reset", clearAll);
  es.addEventListener("add", (e) => add(JSON.parse(e.data)));
  es.addEventListener("gone", (e) => { const g = JSON.parse(e.data); gone(g.id, g.why); });
  es.addEventListener("reload", async () => {
    clearAll();
    (await api("/api/pending")).pending.forEach(add);
  });
}

// ---- audit log ----
const fmtCost = (c) => (c ? `$${c < 0.01 ? c.toFixed(5) : c.toFixed(2)}` : "$0");
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

function chart(daily, servers) {
  const days = [...new Set(daily.map((d) => d.day))].sort();
  const box = $("chart");
  box.replaceChildren();
  $("legend").replaceChildren();
  if (!days.length) { box.append(el("p", { class: "muted", text: "No usage yet." })); $("chart-note").textContent = ""; return; }
  const color = (s) => PALETTE[Math.max(0, servers.indexOf(s)) % PALETTE.length];
  const totals = days.map((day) => daily.filter((d) => d.day === day).reduce((a, d) => a + d.tokens, 0));
  const max = Math.max(1, ...totals);
  const W = 720, H = 200, L = 44, B = 22, T = 16;
  const slot = (W - L) / days.length, bw = Math.min(48, slot * 0.6);
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "tokens per server per day" });
  g.append(svg("line", { x1: L, y1: H - B, x2: W, y2: H - B, stroke: "currentColor", "stroke-opacity": "0.2" }));
  g.append(svg("text", { x: L - 6, y: T + 4, "text-anchor": "end" }, String(max)));
  g.append(svg("text", { x: L - 6, y: H - B, "text-anchor": "end" }, "0"));
  days.forEach((day, i) => {
    const x = L + i * slot + (slot - bw) / 2;
    let y = H - B;
    let cost = 0;
    for (const d of daily.filter((d) => d.day === day)) {
      const h = ((H - B - T) * d.tokens) / max;
      y -= h;
      cost += d.cost;
      g.append(svg("rect", { x, y, width: bw, height: Math.max(h, 0.5), rx: 2, fill: color(d.server) },
        svg("title", {}, `${day} · ${d.server}: ${d.tokens} tokens, ${fmtCost(d.cost)}, ${d.requests} requests`)));
    }
    g.append(svg("text", { x: x + bw / 2, y: y - 4, "text-anchor": "middle" }, fmtCost(cost)));
    g.append(svg("text", { x: x + bw / 2, y: H - 6, "text-anchor": "middle" }, day.slice(5)));
  });
  box.append(g);
  for (const s of [...new Set(daily.map((d) => d.server))]) {
    const sw = el("span", { class: "swatch" });
    sw.style.background = color(s);
    $("legend").append(el("span", {}, sw, s));
  }
  const tok = daily.reduce((a, d) => a + d.tokens, 0), cost = daily.reduce((a, d) => a + d.cost, 0);
  $("chart-note").textContent = `${tok} tokens · ${fmtCost(cost)} over ${days.length} day(s)`;
}

function row(e) {
  const cls = "d d-" + e.decision.replace(" ", "-");
  return el("tr", {},
    el("td", { class: "num", text: new Date(e.at_ms).toLocaleString() }),
    el("td", { text: e.server }),
    el("td", { class: "mono", title: e.tool_call || "", text: clip(e.tool_call, 60) }),
    el("td", {}, el("span", { class: cls, text: e.decision })),
    el("td", { text: e.decided_by }),
    el("td", { class: "mono", text: e.model || "" }),
    el("td", { class: "num", text: `${e.tokens_in} / ${e.tokens_out}` }),
    el("td", { class: "num", text: fmtCost(e.cost) }),
    el("td", { class: "num", text: `${e.latency_ms} ms` }),
    el("td", { text: e.outcome }));
}

async function loadAudit() {
  const q = new URLSearchParams();
  for (const [k, id] of [["server", "f-server"], ["decision", "f-decision"], ["from", "f-from"], ["to", "f-to"]]) {
    if ($(id).value) q.set(k, $(id).value);
  }
  let data;
  try { data = await api(`/api/audit?${q}`); } catch (e) { $("chart-note").textContent = e.message; return; }
  const sel = $("f-server"), keep = sel.value;
  sel.replaceChildren(el("option", { value: "", text: "all" }), ...data.servers.map((s) => el("option", { value: s, text: s })));
  sel.value = keep;
  chart(data.daily, data.servers);
  $("rows").replaceChildren(...data.rows.map(row));
  $("no-rows").classList.toggle("hidden", data.rows.length > 0);
  if (!data.enabled) $("chart-note").textContent = "no audit log for this console";
  document.body.dataset.auditLoaded = String(data.rows.length);
}

function show(tab) {
  for (const t of ["pending", "audit"]) {
    $(`view-${t}`).classList.toggle("hidden", t !== tab);
    $(`tab-${t}`).classList.toggle("active", t === tab);
  }
  if (tab === "audit") loadAudit();
  history.replaceState(null, "", `${location.pathname}${location.search}#${tab}`);
}

DECISIONS.forEach((d) => $("f-decision").append(el("option", { value: d, text: d })));
$("filters").addEventListener("submit", (e) => { e.preventDefault(); loadAudit(); });
document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => show(t.dataset.tab)));
updateCount();
connect();
show(location.hash === "#audit" ? "audit" : "pending");
