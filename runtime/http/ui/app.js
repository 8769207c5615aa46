// mlops-host dashboard. Plain JavaScript, no dependencies, no build step.
// It reads and acts only through the public HTTP API (openapi.yaml). The
// token lives in this variable for as long as the tab is open: never in a
// cookie or in storage. Text from the host (model metadata, errors) is
// always inserted as text, never as HTML.
"use strict";

const ENVS = ["dev", "test", "prod"];
// `page` counts renders: a page whose fetches finish after the reader has
// moved on must not draw over the page now shown.
const state = { token: null, timers: [], env: "", tags: "", page: 0 };

// ---- DOM helpers -------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  return el;
}

function main() { return document.getElementById("main"); }

// Draws page `gen`'s nodes, unless another page has been rendered since.
function show(gen, ...nodes) {
  if (gen !== state.page) return;
  main().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
}

// JSON with two-space indents, but arrays of plain values on one line (a
// column of numbers stays readable).
function pretty(v, indent) {
  const pad = indent || "";
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) return JSON.stringify(v);
    return "[\n" + v.map((x) => pad + "  " + pretty(x, pad + "  ")).join(",\n") + "\n" + pad + "]";
  }
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (!keys.length) return "{}";
    return "{\n" + keys.map((k) => pad + "  " + JSON.stringify(k) + ": " + pretty(v[k], pad + "  ")).join(",\n") + "\n" + pad + "}";
  }
  return JSON.stringify(v);
}

function toast(message, bad) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.className = bad ? "bad" : "";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.textContent = ""; }, bad ? 9000 : 5000);
}

function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

function fmtUs(us) {
  if (us === null || us === undefined) return "–";
  return us >= 10000 ? (us / 1000).toFixed(0) + " ms" : us >= 1000 ? (us / 1000).toFixed(1) + " ms" : Math.round(us) + " µs";
}

function fmtRate(errors, calls) {
  return calls ? (100 * errors / calls).toFixed(errors && errors < calls / 100 ? 2 : 1) + " %" : "–";
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

// ---- the API -----------------------------------------------------------

async function api(path, options) {
  const opts = Object.assign({ method: "GET" }, options || {});
  const headers = {};
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(path, { method: opts.method, headers, body: opts.body, cache: "no-store", credentials: "omit" });
  } catch (e) {
    return { ok: false, status: 0, json: null, text: "cannot reach the host: " + e.message };
  }
  const text = await resp.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
  return { ok: resp.ok, status: resp.status, json, text };
}

function why(r) {
  const msg = (r.json && (r.json.message || r.json.error)) || r.text || "no answer";
  return r.status ? "HTTP " + r.status + ": " + msg : msg;
}

function failure(r, what) {
  const box = h("div", { class: "card", role: "alert" },
    h("h1", { text: "Cannot load " + what }),
    h("p", { class: "error", text: why(r) }));
  if (r.status === 401) box.append(h("p", { text: "This host needs a token to read: enter the caller or admin token above." }));
  return box;
}

// ---- token -------------------------------------------------------------

function setToken(value) {
  state.token = value || null;
  document.getElementById("token").value = "";
  document.getElementById("token-forget").hidden = !state.token;
  document.getElementById("token-state").textContent = state.token ? "token in memory (this tab only)" : "";
  render();
}

// ---- confirmation --------------------------------------------------------

function confirmAction(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    const ok = document.getElementById("confirm-ok");
    const cancel = document.getElementById("confirm-cancel");
    const done = (answer) => {
      ok.removeEventListener("click", yes);
      cancel.removeEventListener("click", no);
      dialog.removeEventListener("cancel", no);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    ok.addEventListener("click", yes);
    cancel.addEventListener("click", no);
    dialog.addEventListener("cancel", no);
    dialog.showModal();
    cancel.focus();
  });
}

// A button that asks for confirmation, then acts; then `after` (by
// default: the page again).
function actionButton(label, confirmText, act, cls, after) {
  const button = h("button", {
    type: "button", class: cls || "danger", disabled: !state.token,
    title: state.token ? null : "enter the admin token above to act",
  }, label);
  button.addEventListener("click", async () => {
    if (!(await confirmAction(confirmText))) return;
    button.disabled = true;
    const r = await act();
    button.disabled = false;
    if (r.ok) {
      toast(label + ": done");
      (after || render)();
    } else {
      toast(label + " refused: " + why(r), true);
    }
  });
  return button;
}

// ---- charts (SVG, drawn here) ---------------------------------------------

// Lines of `series` (arrays of numbers or null) in a w×h box.
function lineChart(series, classes, label, w, hgt, cls) {
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: "none", class: cls, role: "img", "aria-label": label });
  const max = Math.max(1, ...series.flat().filter((v) => v !== null));
  svg.append(s("line", { x1: 0, y1: hgt - 0.5, x2: w, y2: hgt - 0.5, class: "axis" }));
  series.forEach((values, k) => {
    const step = w / Math.max(1, values.length - 1);
    let d = "";
    let pen = "M";
    values.forEach((v, i) => {
      if (v === null) { pen = "M"; return; }
      d += `${pen}${(i * step).toFixed(1)},${(hgt - 2 - (v / max) * (hgt - 6)).toFixed(1)} `;
      pen = "L";
    });
    if (d) svg.append(s("path", { d, class: classes[k] }));
  });
  return svg;
}

// Bars of `values` (calls per bucket), errors on top in red.
function barChart(values, errors, label, w, hgt, cls) {
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: "none", class: cls, role: "img", "aria-label": label });
  const max = Math.max(1, ...values);
  const bw = w / values.length;
  svg.append(s("line", { x1: 0, y1: hgt - 0.5, x2: w, y2: hgt - 0.5, class: "axis" }));
  values.forEach((v, i) => {
    if (!v) return;
    const bh = (v / max) * (hgt - 2);
    svg.append(s("rect", { x: (i * bw + 0.5).toFixed(1), y: (hgt - bh).toFixed(1), width: Math.max(0.5, bw - 1).toFixed(1), height: bh.toFixed(1), class: "bar" }));
    const e = errors[i] || 0;
    if (e) {
      const eh = (e / max) * (hgt - 2);
      svg.append(s("rect", { x: (i * bw + 0.5).toFixed(1), y: (hgt - eh).toFixed(1), width: Math.max(0.5, bw - 1).toFixed(1), height: eh.toFixed(1), class: "errbar" }));
    }
  });
  return svg;
}

// ---- routing -------------------------------------------------------------

function stopTimers() {
  state.timers.forEach(clearInterval);
  state.timers = [];
}

function every(ms, fn) {
  state.timers.push(setInterval(fn, ms));
}

function render() {
  stopTimers();
  const gen = ++state.page;
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  const [page, ...rest] = hash.split("/");
  for (const nav of ["services", "models"]) {
    const a = document.getElementById("nav-" + nav);
    if ((page || "services") === nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (page === "models") return modelsPage(gen, rest[0] || "");
  if (page === "services" && rest[0]) return servicePage(gen, rest[0]);
  return servicesPage(gen);
}

// ---- services ----------------------------------------------------------------

async function servicesPage(gen) {
  document.title = "Services · mlops-host";
  const query = new URLSearchParams();
  if (state.env) query.set("env", state.env);
  if (state.tags.trim()) query.set("tags", state.tags.trim());
  const listPath = "/services" + (query.toString() ? "?" + query : "");
  const [list, stats] = await Promise.all([api(listPath), api("/stats")]);
  if (!list.ok) return show(gen, failure(list, "the services"));
  let services = list.json.services;
  const envSelect = h("select", { id: "filter-env", onchange: (e) => { state.env = e.target.value; render(); } },
    h("option", { value: "" }, "all"), ...ENVS.map((e) => h("option", { value: e, selected: state.env === e }, e)));
  const tagInput = h("input", { id: "filter-tags", type: "search", value: state.tags, placeholder: "e.g. sonic, ACS" });
  const filters = h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); state.tags = tagInput.value; render(); } },
    h("label", {}, "Environment", envSelect),
    h("label", {}, "Tags (description or metadata)", tagInput),
    h("button", { type: "submit" }, "Filter"));
  const heading = h("h1", {}, "Services");
  const tbody = h("tbody");
  const fill = (stats) => {
    tbody.replaceChildren(...services.map((svc) => serviceRow(svc, stats && stats.services[svc.external_id])));
  };
  if (gen !== state.page) return;
  // Every 5 s: the list (deploys and deletes by anyone) and the numbers.
  every(5000, async () => {
    const [fresh, st] = await Promise.all([api(listPath), api("/stats")]);
    if (!fresh.ok) return;
    if ((fresh.json.services.length === 0) !== (services.length === 0)) return render();
    services = fresh.json.services;
    fill(st.ok ? st.json : null);
  });
  if (!services.length) {
    const filtered = state.env || state.tags.trim();
    return show(gen, heading, filters, h("div", { class: "card empty", id: "empty" },
      filtered ? h("p", {}, "No service matches these filters.")
        : h("p", {}, "No services yet: run ", h("code", {}, "mlops-host deploy"), " and they appear here within a few seconds.")));
  }
  const table = h("div", { class: "table-wrap" }, h("table", { id: "services" },
    h("caption", { class: "muted", text: "Calls, errors and latency over the last 5 minutes (totals since the host started in brackets); refreshed every 5 s." }),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Service"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Model"),
      h("th", { scope: "col" }, "Limits"), h("th", { scope: "col", class: "num" }, "Calls"), h("th", { scope: "col", class: "num" }, "Errors"),
      h("th", { scope: "col", class: "num" }, "p50"), h("th", { scope: "col", class: "num" }, "p99"), h("th", { scope: "col" }, "Last 5 min"))),
    tbody));
  fill(stats.ok ? stats.json : null);
  show(gen, heading, filters, table);
}

function serviceRow(svc, st) {
  const w = st ? st.window : null;
  const t = st ? st.total : null;
  const l = svc.limits || {};
  const calls = (st ? st.series : []).map((b) => b.calls);
  const errors = (st ? st.series : []).map((b) => b.errors);
  const cell = (label, attrs, ...children) => h("td", Object.assign({ "data-label": label }, attrs), ...children);
  return h("tr", { "data-service": svc.external_id },
    cell("Service", {}, h("a", { href: "#/services/" + encodeURIComponent(svc.external_id) }, svc.external_id),
      svc.alias_of ? h("div", { class: "muted" }, "→ ", svc.alias_of) : null),
    cell("State", {}, h("span", {}, h("span", { class: "badge " + svc.status }, svc.status),
      svc.error ? h("div", { class: "error" }, svc.error) : null,
      svc.update_error ? h("div", { class: "error" }, "update failed: ", svc.update_error) : null)),
    cell("Model", {}, h("a", { href: "#/models/" + encodeURIComponent(svc.model_id.split("/")[0]) }, svc.model_id)),
    cell("Limits", { class: "muted" }, `${fmtBytes(l.memory_bytes)} · ${l.timeout_ms} ms · ×${l.max_instances}`),
    cell("Calls", { class: "num" }, h("span", {}, w ? String(w.calls) : "–", t ? h("span", { class: "muted" }, ` (${t.calls})`) : null)),
    cell("Errors", { class: "num" }, h("span", {}, w ? fmtRate(w.errors, w.calls) : "–", t ? h("span", { class: "muted" }, ` (${fmtRate(t.errors, t.calls)})`) : null)),
    cell("p50", { class: "num" }, fmtUs(w && w.p50_us)),
    cell("p99", { class: "num" }, fmtUs(w && w.p99_us)),
    cell("Last 5 min", {}, barChart(calls, errors, `calls per 5 s over the last 5 minutes: ${w ? w.calls : 0} in all`, 120, 28, "spark")));
}

// ---- one service ---------------------------------------------------------------

// After a delete, the service's page is gone: back to the list.
function toServices() {
  location.hash = "#/services";
}

function kv(pairs) {
  return h("dl", { class: "kv" }, ...pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function schemaTable(schema, caption) {
  if (!schema) return h("p", { class: "muted" }, caption + ": the service is not loaded.");
  if (schema.kind !== "frame") return h("p", {}, caption + ": ", schema.kind === "json" ? "a free-form JSON document" : "anything (the model checks it)");
  return h("div", { class: "table-wrap" }, h("table", { class: "schema" }, h("caption", { class: "muted" }, caption),
    h("thead", {}, h("tr", {}, ...["Column", "Type", "Required", "Nullable", "Description"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...schema.fields.map((f) => h("tr", {}, h("td", {}, h("code", {}, f.name)), h("td", {}, f.type),
      h("td", {}, f.required ? "yes" : "no"), h("td", {}, f.nullable ? "yes" : "no"), h("td", {}, f.description))))));
}

function templateRequest(schema) {
  const data = {};
  if (schema && schema.kind === "frame") {
    for (const f of schema.fields) data[f.name] = [f.type === "string" ? "" : f.type === "bool" ? false : 0];
  }
  return pretty({ data });
}

async function servicePage(gen, id) {
  document.title = id + " · mlops-host";
  const r = await api("/services/" + encodeURIComponent(id));
  if (!r.ok) return show(gen, failure(r, id));
  const svc = r.json;
  let example = null;
  if (svc.example) {
    const ex = await api("/services/" + encodeURIComponent(id) + "/example");
    if (ex.ok) example = ex.json ? pretty(ex.json) : ex.text;
  }
  const l = svc.limits || {};
  const about = h("section", { class: "card" }, h("h2", {}, "About"), kv([
    ["Name", svc.name], ["Description", svc.description], ["Owner", svc.owner],
    ["Model", h("a", { href: "#/models/" + encodeURIComponent(svc.model_id.split("/")[0]) }, svc.model_id)],
    ["Alias of", svc.alias_of], ["Service", svc.service], ["Environment", svc.env],
    ["State", h("span", {}, h("span", { class: "badge " + svc.status }, svc.status), svc.error ? h("span", { class: "error" }, " ", svc.error) : null)],
    ["Deployed", fmtTime(svc.deployed) + (svc.deployed_by ? " by " + svc.deployed_by : "")],
    ["Limits", `memory ${fmtBytes(l.memory_bytes)}, ${l.timeout_ms} ms per call, ${l.init_timeout_ms} ms to start, ${l.max_instances} instance(s), requests up to ${fmtBytes(l.max_request_bytes)}`],
  ]), h("h3", {}, "Metadata"), Object.keys(svc.metadata || {}).length ? kv(Object.entries(svc.metadata)) : h("p", { class: "muted" }, "none"));

  const schema = h("section", { class: "card" }, h("h2", {}, "Input and output"), schemaTable(svc.inputs, "Input"), schemaTable(svc.outputs, "Output"));

  const body = h("textarea", { id: "request", "aria-label": "Request body (JSON)", spellcheck: "false" });
  body.value = example || templateRequest(svc.inputs);
  const answer = h("pre", { id: "response", "aria-live": "polite", tabindex: "0" }, "");
  const status = h("p", { id: "response-status", class: "muted" }, example ? "Pre-filled from the model's fixture." : "No fixture stored: a request shaped from the input schema.");
  const send = h("button", { type: "submit", id: "send" }, "Send");
  const form = h("form", { id: "call-form", onsubmit: async (e) => {
    e.preventDefault();
    send.disabled = true;
    const started = performance.now();
    const res = await api("/services/" + encodeURIComponent(id) + "/call", { method: "POST", body: body.value });
    send.disabled = false;
    status.textContent = `HTTP ${res.status || "—"} in ${(performance.now() - started).toFixed(0)} ms`;
    status.className = res.ok ? "muted" : "error";
    answer.textContent = res.json ? pretty(res.json) : res.text;
  } }, h("label", { for: "request" }, "Request (the envelope: ", h("code", {}, '{"data": …}'), ")"), body, h("div", { class: "actions" }, send), status, answer);
  const call = h("section", { class: "card" }, h("h2", {}, "Try it"), form);

  const latency = h("div", { id: "latency-chart" });
  const throughput = h("div", { id: "throughput-chart" });
  const latencyTop = h("span", { class: "muted" });
  const throughputTop = h("span", { class: "muted" });
  const timeAxis = () => h("div", { class: "axis-labels muted" }, h("span", {}, "5 min ago"), h("span", {}, "now"));
  const summary = h("p", { id: "live-summary", class: "muted" });
  const live = h("section", { class: "card" }, h("h2", {}, "Live (last 5 minutes, 5-second buckets, refreshed every 3 s)"), summary,
    h("div", { class: "grid2" },
      h("div", {}, h("h3", {}, "Latency"), h("div", { class: "legend" }, h("span", { class: "k50" }, "p50"), h("span", { class: "k99" }, "p99"), latencyTop), latency, timeAxis()),
      h("div", {}, h("h3", {}, "Throughput"), h("div", { class: "legend" }, h("span", { class: "kcalls" }, "calls/s (errors in red)"), throughputTop), throughput, timeAxis())));
  const draw = async () => {
    const st = await api("/stats?service=" + encodeURIComponent(id));
    if (!st.ok) { summary.textContent = why(st); return; }
    const one = st.json.services[id];
    const series = one.series;
    const secs = st.json.bucket_seconds;
    const w = one.window;
    summary.textContent = `${w.calls} calls (${w.per_second}/s), ${fmtRate(w.errors, w.calls)} errors, p50 ${fmtUs(w.p50_us)}, p99 ${fmtUs(w.p99_us)}; since start: ${one.total.calls} calls, ${one.total.errors} errors.`;
    const topUs = Math.max(0, ...series.map((b) => b.p99_us || 0));
    const topRate = Math.max(0, ...series.map((b) => b.calls / secs));
    latencyTop.textContent = topUs ? "top: " + fmtUs(topUs) : "no calls yet";
    throughputTop.textContent = topRate ? "top: " + topRate.toFixed(1) + "/s" : "no calls yet";
    latency.replaceChildren(lineChart([series.map((b) => b.p50_us), series.map((b) => b.p99_us)], ["p50", "p99"],
      `latency: p50 ${fmtUs(w.p50_us)}, p99 ${fmtUs(w.p99_us)} over the last 5 minutes`, 300, 120, "chart"));
    throughput.replaceChildren(barChart(series.map((b) => b.calls / secs), series.map((b) => b.errors / secs),
      `throughput: ${w.per_second} calls per second over the last 5 minutes`, 300, 120, "chart"));
  };

  const actions = h("section", { class: "card" }, h("h2", {}, "Admin"),
    h("p", { class: "muted" }, state.token ? "Each action asks for confirmation first." : "Enter the admin token above to enable these actions."));
  const row = h("div", { class: "actions" });
  if (!svc.alias_of) {
    // A pinned version: delete it.
    row.append(actionButton("Delete service", `Delete ${id}? Callers of this id get 404 from now on.`,
      () => api("/services/" + encodeURIComponent(id), { method: "DELETE" }), "danger", toServices));
  } else {
    // The latest alias: point it at another pinned version (rollback).
    const all = await api("/services");
    const pinned = all.ok ? all.json.services.filter((o) => !o.alias_of && o.external_id.startsWith(id + "-")) : [];
    const current = svc.alias_of;
    const versions = pinned.map((o) => o.external_id.slice(id.length + 1)).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a);
    const pick = h("select", { id: "redeploy-version", "aria-label": "Version to run" },
      ...versions.map((v) => h("option", { value: v, selected: id + "-" + v === current }, "version " + v + (id + "-" + v === current ? " (running)" : ""))));
    row.append(h("label", { for: "redeploy-version" }, "Run "), pick,
      actionButton("Redeploy", `Point ${id} at the version chosen? Calls to ${id} move to it at once.`,
        () => api("/services/" + encodeURIComponent(id) + "/redeploy", { method: "POST", body: JSON.stringify({ version: Number(pick.value) }) }), "secondary"),
      actionButton("Delete service", `Delete the alias ${id}? Its pinned versions stay.`,
        () => api("/services/" + encodeURIComponent(id), { method: "DELETE" }), "danger", toServices));
  }
  actions.append(row);

  show(gen, h("p", {}, h("a", { href: "#/services" }, "← Services")), h("h1", {}, id), live, h("div", { class: "grid2" }, about, schema), call, actions);
  await draw();
  if (gen === state.page) every(3000, draw);
}

// ---- models --------------------------------------------------------------------

async function modelsPage(gen, only) {
  document.title = "Models · mlops-host";
  const [versions, services] = await Promise.all([
    api("/models" + (only ? "?model=" + encodeURIComponent(only) : "")), api("/services")]);
  if (!versions.ok) return show(gen, failure(versions, "the models"));
  const running = {};
  for (const svc of services.ok ? services.json.services : []) {
    (running[svc.model_id] = running[svc.model_id] || []).push(svc.external_id);
  }
  const byModel = new Map();
  for (const v of versions.json.versions) {
    if (!byModel.has(v.model)) byModel.set(v.model, []);
    byModel.get(v.model).push(v);
  }
  const heading = h("h1", {}, only ? "Model " + only : "Models");
  const back = only ? h("p", {}, h("a", { href: "#/models" }, "← All models")) : null;
  if (!byModel.size) {
    return show(gen, heading, h("div", { class: "card empty", id: "empty" }, h("p", {},
      "No model versions yet: run ", h("code", {}, "mlops-host deploy"), " (it uploads the artifacts) or ", h("code", {}, "mlops-host models upload"), ".")));
  }
  const cards = [...byModel.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([model, list]) =>
    h("section", { class: "card model", "data-model": model },
      h("h2", {}, h("a", { href: "#/models/" + encodeURIComponent(model) }, model)),
      h("div", { class: "envs" }, ...ENVS.map((env) => {
        const here = list.filter((v) => v.env === env).sort((a, b) => b.version - a.version);
        return h("div", { class: "env", "data-env": env }, h("h3", {}, env),
          here.length ? here.map((v) => versionCard(v, running[v.model_id] || [])) : h("p", { class: "muted" }, "nothing yet"));
      }))));
  show(gen, back, heading, h("p", { class: "muted" }, "Artifact versions per environment, newest first: dev → test → prod. A promotion keeps the number and copies no bytes."), ...cards);
}

// Where a version came from: a promotion, a training run, or an upload.
function provenance(v) {
  if (v.promoted_from) return "promoted from " + v.promoted_from;
  const m = v.metadata || {};
  if (m.trained_by) return "trained by " + m.trained_by + (m.trained_from ? " from " + m.trained_from : "");
  return "uploaded";
}

function versionCard(v, services) {
  const next = { dev: "test", test: "prod" }[v.env];
  const files = h("details", {}, h("summary", {}, `${v.files.length} file(s), ${fmtBytes(v.size)}`),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "File"), h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col" }, "blake3"))),
      h("tbody", {}, ...v.files.map((f) => h("tr", {}, h("td", {}, h("code", {}, f.path)), h("td", { class: "num" }, fmtBytes(f.size)), h("td", { class: "muted", title: f.blake3 }, String(f.blake3).slice(0, 12) + "…")))))));
  const meta = Object.entries(v.metadata || {});
  return h("article", { class: "version", "data-model-id": v.model_id },
    h("header", {}, h("strong", {}, "version " + v.version), h("span", { class: "muted" }, fmtTime(v.created))),
    kv([
      ["Provenance", provenance(v)],
      ["By", v.created_by],
      ["Served by", services.length ? services.join(", ") : "no service"],
    ]),
    files,
    meta.length ? h("details", {}, h("summary", {}, "metadata"), kv(meta)) : null,
    next ? h("div", { class: "actions" }, actionButton("Promote to " + next,
      `Promote ${v.model_id} to ${next}? It becomes ${v.model}/${next}/${v.version}; a deploy to ${next} then serves it.`,
      () => api(`/models/${encodeURIComponent(v.model)}/${v.env}/${v.version}/promote`, { method: "POST", body: JSON.stringify({ to: next }) }), "secondary")) : null);
}

// ---- start -----------------------------------------------------------------------

document.getElementById("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  setToken(document.getElementById("token").value.trim());
});
document.getElementById("token-forget").addEventListener("click", () => setToken(null));
window.addEventListener("hashchange", () => { render(); main().focus({ preventScroll: true }); });
render();
