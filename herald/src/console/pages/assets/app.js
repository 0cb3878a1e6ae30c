// Herald console: a small client whose only data source is the JSON API (/api/v1) and
// its live stream. Every element is built with createElement and textContent: text
// from the server (payloads, messages, names) is never parsed as HTML.
"use strict";

(function () {
  const main = document.getElementById("main");
  let session = null; // {username, role, csrf_token}
  let leave = []; // clean-ups of the current page (the live stream, timers)

  // ---- DOM helpers -------------------------------------------------------------------

  // el("td", {className: "num"}, "text", child...): attributes as properties, children as
  // text nodes or elements.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node[key] = value;
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function table(headers, rows, id) {
    return el("table", { id: id || "" },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows));
  }

  function show(...nodes) {
    main.replaceChildren(...nodes);
  }

  function when(t) {
    if (!t) return "–";
    const d = new Date(t);
    return isNaN(d) ? String(t) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function pct(x) {
    return (100 * (x || 0)).toFixed(2) + " %";
  }

  function jobLink(id) {
    return el("a", { href: "#/jobs/" + encodeURIComponent(String(id)) }, String(id));
  }

  function errorBox(e) {
    return el("p", { className: "error", role: "alert" }, (e && e.code ? e.code + ": " : "") + (e && e.message ? e.message : String(e)));
  }

  // ---- the API -----------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && session) headers["X-CSRF-Token"] = session.csrf_token;
    const response = await fetch("/api/v1" + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const err = (data && data.error) || {};
      if (response.status === 401 && path !== "/login" && path !== "/session") {
        session = null;
        route();
      }
      throw new ApiError(response.status, err.code || "HTTP_" + response.status, err.message || response.statusText);
    }
    return data;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    const s = q.toString();
    return s ? "?" + s : "";
  }

  // ---- routing -----------------------------------------------------------------------

  function parseHash() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [path, qs] = hash.split("?");
    return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(qs || "") };
  }

  async function route() {
    for (const done of leave) done();
    leave = [];
    if (!session) {
      try {
        session = await api("GET", "/session");
      } catch (_) {
        session = null;
      }
    }
    const nav = document.getElementById("nav");
    const who = document.getElementById("who");
    const logout = document.getElementById("logout");
    nav.hidden = !session;
    logout.hidden = !session;
    who.textContent = session ? session.username + " (" + session.role + ")" : "";
    if (!session) return loginPage();
    const { parts, params } = parseHash();
    const page = parts[0] || "overview";
    for (const a of nav.querySelectorAll("a")) a.classList.toggle("current", a.dataset.page === page);
    document.body.dataset.page = page;
    try {
      if (page === "failures") return await failuresPage(params);
      if (page === "jobs" && parts[1]) return await jobPage(parts[1]);
      if (page === "jobs") return await jobsPage(params);
      if (page === "actions") return await actionsPage(params);
      if (page === "queues") return await queuesPage();
      return await overviewPage();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) show(errorBox(e));
    }
  }

  // ---- login -------------------------------------------------------------------------

  function loginPage() {
    document.body.dataset.page = "login";
    const user = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
    const pass = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const status = el("p", { id: "login-status", className: "error", role: "alert" });
    const form = el("form", { id: "login", className: "card login" },
      el("h1", {}, "Log in"),
      el("label", {}, "Username", user),
      el("label", {}, "Password", pass),
      el("button", { type: "submit" }, "Log in"),
      status);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      status.textContent = "";
      try {
        session = await api("POST", "/login", { username: user.value, password: pass.value });
        if (!location.hash || location.hash === "#/login") location.hash = "#/overview";
        else route();
      } catch (e) {
        status.textContent = e.message;
      }
    });
    show(form);
    user.focus();
  }

  document.getElementById("logout").addEventListener("click", async () => {
    try {
      await api("POST", "/logout");
    } finally {
      session = null;
      location.hash = "#/login";
      route();
    }
  });

  // ---- overview ----------------------------------------------------------------------

  async function overviewPage() {
    const live = el("ol", { id: "live-feed", className: "feed" });
    const liveCount = el("span", { id: "live-count" }, "0");
    const streamState = el("span", { id: "stream-state", className: "muted" }, "connecting…");
    const body = el("div", { id: "overview-body" });
    show(
      el("h1", {}, "Overview"),
      body,
      el("section", { className: "card" },
        el("h2", {}, "Live attempts ", el("small", {}, "(", liveCount, " since this page opened; stream ", streamState, ")")),
        live));
    let seen = 0;
    let pending = null;
    const refresh = async () => {
      pending = null;
      try {
        body.replaceChildren(renderOverview(await api("GET", "/overview")));
      } catch (e) {
        body.replaceChildren(errorBox(e));
      }
    };
    const soon = () => {
      if (!pending) pending = setTimeout(refresh, 1000);
    };
    await refresh();
    const source = new EventSource("/api/v1/stream");
    source.addEventListener("open", () => (streamState.textContent = "live"));
    source.addEventListener("attempt", (ev) => {
      const a = JSON.parse(ev.data);
      seen += 1;
      liveCount.textContent = String(seen);
      live.prepend(el("li", { className: "outcome-" + a.outcome },
        el("time", {}, when(a.at)), " ", jobLink(a.job_id), " ", el("code", {}, a.type), " on ",
        el("code", {}, a.queue), " ", el("strong", {}, a.outcome)));
      while (live.children.length > 25) live.lastChild.remove();
      soon();
    });
    source.addEventListener("alert", soon);
    source.addEventListener("dropped", soon);
    source.addEventListener("error", (ev) => {
      // A server `error` event carries data; a connection error does not (it reconnects).
      streamState.textContent = ev.data ? "interrupted (retrying)" : "reconnecting…";
    });
    source.addEventListener("end", () => {
      source.close();
      streamState.textContent = "ended";
    });
    const timer = setInterval(refresh, 15000);
    leave.push(() => source.close(), () => clearInterval(timer), () => pending && clearTimeout(pending));
  }

  function renderOverview(o) {
    const over = o.failure_rate > o.threshold;
    const bar = el("div", { className: "rate" },
      el("div", { className: "rate-fill" + (over ? " over" : "") }),
      el("div", { className: "rate-line", title: "alert line " + pct(o.threshold) }));
    // The bar spans 0-20 %; the line sits at the threshold.
    bar.firstChild.style.width = Math.min(100, (o.failure_rate / 0.2) * 100) + "%";
    bar.lastChild.style.left = Math.min(100, (o.threshold / 0.2) * 100) + "%";
    const stats = el("div", { className: "stats" },
      stat("Throughput", o.throughput_per_sec.toFixed(2) + " /s", "stat-throughput"),
      stat("Attempts (" + Math.round(o.window_secs / 60) + " min)", String(o.attempts), "stat-attempts"),
      stat("Failure rate", pct(o.failure_rate), "stat-failure-rate", over ? "bad" : "good"),
      stat("Alert", o.alert.firing ? "FIRING" : "ok", "stat-alert", o.alert.firing ? "bad" : "good"));
    const outcomes = Object.entries(o.by_outcome).map(([k, v]) =>
      el("tr", {}, el("td", {}, k), el("td", { className: "num" }, String(v))));
    const queues = o.queues.map((q) => el("tr", {},
      el("td", {}, q.queue), el("td", {}, q.state),
      ["pending", "scheduled", "running", "retrying", "dead"].map((s) => el("td", { className: "num" }, String(q[s]))),
      el("td", { className: "num" }, String(q.workers))));
    const workers = o.workers.map((w) => el("tr", {},
      el("td", {}, w.id), el("td", {}, w.hostname), el("td", {}, w.queues.join(", ")),
      el("td", { className: "num" }, w.heartbeat_age_secs === null ? "–" : w.heartbeat_age_secs.toFixed(1) + " s"),
      el("td", { className: "num" }, String(w.in_flight))));
    const transitions = o.alert.recent.map((t) => el("tr", {},
      el("td", {}, when(t.occurred_at)), el("td", {}, t.scope), el("td", {}, t.transition),
      el("td", { className: "num" }, pct(t.failure_rate)), el("td", {}, t.worker_id || "–")));
    return el("div", {},
      stats,
      el("section", { className: "card" }, el("h2", {}, "Failure rate vs the " + pct(o.threshold) + " alert line"), bar),
      el("div", { className: "grid" },
        el("section", { className: "card" }, el("h2", {}, "Attempts by outcome"),
          table(["outcome", "attempts"], outcomes, "by-outcome")),
        el("section", { className: "card" }, el("h2", {}, "Alert transitions"),
          transitions.length ? table(["at", "scope", "transition", "rate", "worker"], transitions, "alert-transitions") : el("p", { className: "muted" }, "none in the last day"))),
      el("section", { className: "card" }, el("h2", {}, "Queues"),
        table(["queue", "state", "pending", "scheduled", "running", "retrying", "dead", "workers"], queues, "overview-queues")),
      el("section", { className: "card" }, el("h2", {}, "Workers"),
        workers.length ? table(["worker", "host", "queues", "heartbeat age", "in flight"], workers, "workers") : el("p", { className: "muted" }, "no live worker")));
  }

  function stat(label, value, id, tone) {
    return el("div", { className: "stat " + (tone || "") }, el("div", { className: "label" }, label), el("div", { className: "value", id }, value));
  }

  // ---- actions on a filter (failures and jobs pages) -----------------------------------

  // A panel that counts first (dry run), then asks for a reason, then acts.
  function actionPanel(action, filter, done) {
    const panel = el("div", { className: "card confirm", id: "confirm" });
    const status = el("p", { className: "muted" }, "Counting…");
    panel.append(el("h3", {}, (action === "replay" ? "Replay" : "Cancel") + " every job matching " + JSON.stringify(filter)), status);
    (async () => {
      try {
        const dry = await api("POST", "/jobs/actions", { action, filter, dry_run: true });
        status.replaceChildren(el("strong", { id: "dry-run-count" }, String(dry.count)), " jobs would be " + (action === "replay" ? "replayed" : "cancelled") + ".");
        if (dry.count === 0) return;
        const reason = el("input", { id: "reason", placeholder: "why (recorded in the audit log)", required: true });
        const result = el("p", { id: "action-result", role: "status" });
        const go = el("button", { type: "submit", id: "confirm-action", className: action === "cancel" ? "danger" : "" }, "Confirm " + action + " of " + dry.count + " jobs");
        const form = el("form", {}, el("label", {}, "Reason", reason), go, el("button", { type: "button", className: "quiet", onclick: () => panel.remove() }, "Close"), result);
        form.addEventListener("submit", async (ev) => {
          ev.preventDefault();
          if (!reason.value.trim()) {
            result.textContent = "A reason is required.";
            return;
          }
          go.disabled = true;
          try {
            const r = await api("POST", "/jobs/actions", { action, filter, reason: reason.value });
            result.textContent = (action === "replay" ? "Replayed " : "Cancelled ") + r.count + " jobs" + (r.action_id ? " (action " + r.action_id + ")" : "") + ".";
            if (done) done(r);
          } catch (e) {
            result.replaceChildren(errorBox(e));
            go.disabled = false;
          }
        });
        panel.append(form);
        if (session.role !== "operator") status.append(el("p", { className: "muted" }, "Your role is viewer: the console will refuse this."));
      } catch (e) {
        status.replaceChildren(errorBox(e));
      }
    })();
    return panel;
  }

  // ---- failures ----------------------------------------------------------------------

  async function failuresPage(params) {
    const since = params.get("since") || "24h";
    const data = await api("GET", "/failures" + query({ since, type: params.get("type") }));
    const slot = el("div", { id: "confirm-slot" });
    const rows = data.groups.map((g) => el("tr", { dataset: { fingerprint: g.fingerprint } },
      el("td", {}, el("code", {}, g.fingerprint)),
      el("td", { className: "num" }, String(g.attempts)),
      el("td", { className: "num" }, String(g.jobs)),
      el("td", {}, g.type),
      el("td", {}, g.error_code),
      el("td", { className: "message" }, g.message),
      el("td", {}, when(g.first_seen)), el("td", {}, when(g.last_seen)),
      el("td", {}, jobLink(g.example_job_id)),
      el("td", { className: "actions" },
        el("button", { type: "button", className: "replay-group", onclick: () => slot.replaceChildren(actionPanel("replay", { fingerprint: g.fingerprint }, () => setTimeout(route, 800))) }, "Replay group"),
        el("button", { type: "button", className: "cancel-group quiet", onclick: () => slot.replaceChildren(actionPanel("cancel", { fingerprint: g.fingerprint }, () => setTimeout(route, 800))) }, "Cancel"))));
    const sinceInput = el("input", { name: "since", value: since, size: 6 });
    const form = el("form", { className: "filters" }, el("label", {}, "Since", sinceInput), el("button", { type: "submit" }, "Show"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      location.hash = "#/failures" + query({ since: sinceInput.value });
    });
    show(el("h1", {}, "Failures by fingerprint"), form, slot,
      rows.length ? table(["fingerprint", "attempts", "jobs", "type", "code", "sample message", "first seen", "last seen", "example", ""], rows, "failures")
        : el("p", { className: "muted", id: "no-failures" }, "No failures since " + since + "."));
  }

  // ---- jobs --------------------------------------------------------------------------

  const FILTER_FIELDS = ["state", "type", "queue", "fingerprint", "text", "since", "until"];
  const STATES = ["", "pending", "scheduled", "running", "retrying", "dead", "succeeded", "cancelled"];

  async function jobsPage(params) {
    const inputs = {};
    const fields = FILTER_FIELDS.map((f) => {
      const input = f === "state"
        ? el("select", { name: f }, STATES.map((s) => el("option", { value: s, selected: params.get(f) === s }, s || "any")))
        : el("input", { name: f, value: params.get(f) || "", size: f === "text" || f === "type" ? 16 : 8, placeholder: f === "since" || f === "until" ? "2h or RFC 3339" : "" });
      inputs[f] = input;
      return el("label", {}, f === "text" ? "id or key" : f, input);
    });
    const form = el("form", { className: "filters", id: "job-filter" }, fields, el("button", { type: "submit" }, "Filter"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const p = {};
      for (const f of FILTER_FIELDS) p[f] = inputs[f].value.trim();
      location.hash = "#/jobs" + query(p);
    });
    const filter = {};
    const listParams = {};
    for (const f of FILTER_FIELDS) {
      const v = params.get(f);
      if (!v) continue;
      listParams[f] = v;
      if (f === "state") filter.state = v.split(",");
      else filter[f] = v;
    }
    const after = params.get("after");
    const page = await api("GET", "/jobs" + query({ ...listParams, after, limit: 50 }));
    const rows = page.jobs.map((j) => el("tr", { dataset: { id: String(j.id), state: j.state } },
      el("td", {}, jobLink(j.id)), el("td", {}, j.type), el("td", {}, j.queue),
      el("td", { className: "state state-" + j.state }, j.state),
      el("td", { className: "num" }, j.attempt + "/" + j.max_attempts),
      el("td", {}, j.last_error_code || "–"), el("td", {}, j.fingerprint ? el("code", {}, j.fingerprint) : "–"),
      el("td", {}, when(j.created_at)), el("td", {}, when(j.finished_at))));
    const slot = el("div", { id: "confirm-slot" });
    const hasFilter = Object.keys(filter).length > 0;
    const bulk = el("div", { className: "bulk" },
      el("button", { type: "button", id: "replay-matching", disabled: !hasFilter, onclick: () => slot.replaceChildren(actionPanel("replay", filter, () => setTimeout(route, 800))) }, "Replay all matching…"),
      el("button", { type: "button", id: "cancel-matching", className: "quiet", disabled: !hasFilter, onclick: () => slot.replaceChildren(actionPanel("cancel", filter, () => setTimeout(route, 800))) }, "Cancel all matching…"),
      hasFilter ? null : el("span", { className: "muted" }, " (set a filter to act on every matching job, not just this page)"));
    const nav = el("p", { className: "pager" });
    if (after) nav.append(el("a", { href: "#/jobs" + query(listParams) }, "First page"), " ");
    if (page.next_after) nav.append(el("a", { id: "next-page", href: "#/jobs" + query({ ...listParams, after: page.next_after }) }, "Next page →"));
    show(el("h1", {}, "Jobs"), form, bulk, slot,
      rows.length ? table(["id", "type", "queue", "state", "attempt", "last error", "fingerprint", "created", "finished"], rows, "jobs") : el("p", { className: "muted" }, "No job matches."),
      nav);
  }

  async function jobPage(id) {
    const data = await api("GET", "/jobs/" + encodeURIComponent(id));
    const j = data.job;
    const facts = j ? el("dl", { className: "facts" },
      [["id", j.id], ["type", j.type], ["queue", j.queue], ["state", j.state], ["attempt", j.attempt + " of " + j.max_attempts],
        ["priority", j.priority], ["created", when(j.created_at)], ["run at", when(j.run_at)], ["finished", when(j.finished_at)],
        ["last error", j.last_error_code || "–"], ["idempotency key", j.idempotency_key || "–"], ["held", j.held || "–"]]
        .map(([k, v]) => [el("dt", {}, k), el("dd", { className: "fact-" + k.replace(/ /g, "-") }, String(v))]))
      : el("p", { className: "muted" }, "The job was purged; its trail remains.");
    const links = new Map((data.trace_links || []).map((l) => [l.attempt, l.url]));
    const rows = data.timeline.map((e) => {
      if (e.kind === "attempt") {
        const url = links.get(e.attempt);
        const trace = url && /^https?:\/\//.test(url) ? el("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, "trace") : (e.trace_id ? el("code", {}, e.trace_id.slice(0, 8)) : "–");
        return el("tr", { className: "attempt outcome-" + e.outcome },
          el("td", {}, "attempt " + e.attempt), el("td", {}, when(e.started_at)), el("td", {}, e.outcome + " → " + e.job_state),
          el("td", {}, e.error_code ? e.error_code + " (" + e.error_class + ")" : "–"),
          el("td", { className: "message" }, e.message || ""), el("td", { className: "num" }, e.duration_ms + " ms"),
          el("td", {}, e.worker_id), el("td", {}, trace));
      }
      if (e.kind === "action") {
        return el("tr", { className: "action" },
          el("td", {}, e.action + " #" + e.action_id), el("td", {}, when(e.at)), el("td", {}, "by " + e.actor),
          el("td", {}, ""), el("td", { className: "message" }, e.reason || ""), el("td", {}, ""), el("td", {}, ""), el("td", {}, ""));
      }
      return el("tr", { className: "workflow" },
        el("td", {}, "workflow " + e.event), el("td", {}, when(e.at)), el("td", {}, "batch " + e.batch_id),
        el("td", {}, e.upstream_error_code || "–"), el("td", { className: "message" }, e.message),
        el("td", {}, ""), el("td", {}, jobLink(e.upstream_job_id)), el("td", {}, ""));
    });
    const payload = el("pre", { id: "payload" }, j ? JSON.stringify(j.payload, null, 2) : "–");
    show(el("h1", {}, "Job " + data.id), facts,
      el("section", { className: "card" }, el("h2", {}, "Audit trail"),
        rows.length ? table(["entry", "at", "outcome", "error", "message / reason", "duration", "worker", "trace"], rows, "trail") : el("p", { className: "muted" }, "No attempt yet.")),
      el("section", { className: "card" }, el("h2", {}, "Payload (secrets redacted)"), payload));
  }

  // ---- actions log and queues ----------------------------------------------------------

  async function actionsPage(params) {
    const data = await api("GET", "/actions" + query({ action: params.get("action"), since: params.get("since"), limit: 200 }));
    const rows = data.actions.map((a) => el("tr", {},
      el("td", {}, when(a.at)), el("td", {}, a.action), el("td", {}, a.actor),
      el("td", { className: "num" }, String(a.job_count)),
      el("td", { className: "message" }, a.reason || "–"),
      el("td", {}, el("code", {}, JSON.stringify(a.filter)))));
    show(el("h1", {}, "Operator actions and alerts"),
      rows.length ? table(["at", "action", "actor", "jobs", "reason", "filter"], rows, "actions") : el("p", { className: "muted" }, "Nothing recorded yet."));
  }

  async function queuesPage() {
    const data = await api("GET", "/queues");
    const rows = data.queues.map((q) => el("tr", {},
      el("td", {}, q.queue),
      el("td", { className: q.state === "paused" ? "state state-dead" : "state" }, q.state + (q.paused_by ? " by " + q.paused_by + (q.pause_reason ? ": " + q.pause_reason : "") : "")),
      ["pending", "scheduled", "running", "retrying", "dead", "workers"].map((s) => el("td", { className: "num" }, String(q[s])))));
    show(el("h1", {}, "Queues"),
      rows.length ? table(["queue", "state", "pending", "scheduled", "running", "retrying", "dead", "workers"], rows, "queues") : el("p", { className: "muted" }, "No queue has jobs or workers yet."),
      el("p", { className: "muted" }, "Pause and resume with herald queues pause|resume."));
  }

  window.addEventListener("hashchange", route);
  route();
})();
