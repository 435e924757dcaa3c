// The abaco-emulator dashboard: polls the emulator's JSON routes and draws what they say.
// Everything an actor or a user wrote (names, images, messages, environment, logs) is
// untrusted: it only ever reaches the page as textContent, never as HTML.
"use strict";

(function () {
  const API = document.body.dataset.api;            // the dialect's prefix, e.g. /actors/v2
  const EMULATOR = document.body.dataset.emulator;  // the emulator's own routes, /emulator/v1/actors
  const PAGE = 50;
  const FINISHED = new Set(["COMPLETE", "ERROR"]);
  const TOKEN_KEY = "abaco-emulator-token";

  const state = {
    actorSkip: 0, executionSkip: 0,
    actor: null, execution: null, executionFinished: false, logLength: 0,
    tick: 0, needToken: false,
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  class Unauthorized extends Error {}

  async function call(path, options) {
    const init = Object.assign({headers: {}}, options || {});
    const t = token();
    if (t) init.headers["Authorization"] = "Bearer " + t;
    const response = await fetch(path, init);
    if (response.status === 401) throw new Unauthorized("this emulator needs a token");
    return response;
  }

  async function json(path, options) {
    const response = await call(path, options);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      throw new Error((body && body.message) || ("HTTP " + response.status));
    }
    return body.result;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== "" && value !== null) q.set(key, value);
    return q.toString();
  }

  function enc(part) { return encodeURIComponent(part); }

  function shortTime(value) {
    if (!value) return "";
    const text = String(value);
    const match = /T(\d\d:\d\d:\d\d)/.exec(text);
    return match ? match[1] : text;
  }

  function statusCell(status, message) {
    const td = el("td");
    const badge = el("span", status, "status status-" + String(status).toLowerCase());
    td.appendChild(badge);
    if (message) {
      td.appendChild(el("div", message, "status-message"));
    }
    return td;
  }

  function fillFields(dl, pairs) {
    const nodes = [];
    for (const [name, value] of pairs) {
      nodes.push(el("dt", name));
      nodes.push(el("dd", value === null || value === undefined ? "" : value));
    }
    dl.replaceChildren(...nodes);
  }

  function fillPairs(tbody, mapping) {
    const rows = Object.keys(mapping).sort().map((key) => {
      const tr = el("tr");
      tr.appendChild(el("th", key));
      tr.appendChild(el("td", mapping[key]));
      return tr;
    });
    tbody.replaceChildren(...rows);
  }

  function pager(id, skip, total, count) {
    const box = $(id);
    const label = box.querySelector("span");
    label.textContent = total ? ` ${skip + 1}–${skip + count} of ${total} ` : " none ";
    box.querySelector('[data-step="-1"]').disabled = skip <= 0;
    box.querySelector('[data-step="1"]').disabled = skip + count >= total;
  }

  function fillSelect(select, values, labels) {
    const current = select.value;
    const signature = values.map((v) => (labels ? labels(v) : v)).join("\n");
    if (select.dataset.signature === signature) return;  // unchanged: keep an open list open
    select.dataset.signature = signature;
    const options = [el("option", "all")];
    options[0].value = "";
    for (const value of values) {
      const option = el("option", labels ? labels(value) : value);
      option.value = value;
      options.push(option);
    }
    select.replaceChildren(...options);
    select.value = values.includes(current) ? current : "";
  }

  function showProblem(message) {
    const box = $("problem");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // -- actors ------------------------------------------------------------------------
  async function refreshActors() {
    const params = {skip: state.actorSkip, limit: PAGE, owner: $("owner-filter").value,
                    status: $("status-filter").value, search: $("search-filter").value.trim()};
    const page = await json(EMULATOR + "?" + query(params));
    const statuses = page.statuses || {};
    fillSelect($("owner-filter"), page.owners || []);
    fillSelect($("status-filter"), Object.keys(statuses).sort(), (s) => `${s} (${statuses[s]})`);
    $("actors-count").textContent = `(${page.total})`;
    const rows = page.actors.map((actor) => {
      const tr = el("tr");
      tr.dataset.id = actor.id;
      if (state.actor && state.actor.id === actor.id) tr.classList.add("selected");
      tr.appendChild(el("td", actor.name || "—"));
      tr.appendChild(el("td", actor.id, "mono"));
      tr.appendChild(el("td", actor.image, "mono"));
      tr.appendChild(el("td", actor.owner));
      tr.appendChild(statusCell(actor.status, actor.status_message));
      tr.appendChild(el("td", actor.workers, "num"));
      tr.appendChild(el("td", actor.mailbox, "num"));
      tr.appendChild(el("td", actor.total_executions, "num"));
      const last = el("td");
      if (actor.last_execution) {
        last.appendChild(el("span", actor.last_execution.status,
                            "status status-" + actor.last_execution.status.toLowerCase()));
        last.appendChild(el("span", " " + shortTime(actor.last_execution.time), "muted"));
      }
      tr.appendChild(last);
      tr.addEventListener("click", () => selectActor(actor.id));
      if (state.actor && state.actor.id === actor.id) state.actor = actor;
      return tr;
    });
    $("actors").querySelector("tbody").replaceChildren(...rows);
    $("actors-empty").hidden = page.total > 0;
    pager("actors-pager", state.actorSkip, page.total, page.actors.length);
    if (state.actor && !page.actors.some((actor) => actor.id === state.actor.id)) {
      // selected, but not on this page (or filtered out): read it alone
      const alone = await json(EMULATOR + "?" + query({search: state.actor.id, limit: PAGE}));
      const found = alone.actors.find((actor) => actor.id === state.actor.id);
      if (found) {
        state.actor = found;
      } else {  // deleted, or never one this caller may read
        state.actor = null;
        selectExecution(null);
        $("actor-panel").hidden = true;
        history.replaceState(null, "", location.pathname);
      }
    }
    if (state.actor && state.actor.image !== undefined) showActor(state.actor);
  }

  function showActor(actor) {
    $("actor-panel").hidden = false;
    $("actor-title").textContent = (actor.name ? actor.name + " " : "") + actor.id;
    const fields = [["id", actor.id], ["name", actor.name || ""], ["image", actor.image], ["owner", actor.owner],
                    ["status", actor.status], ["status message", actor.status_message],
                    ["description", actor.description], ["stateless", String(actor.stateless)],
                    ["workers", actor.workers], ["mailbox", actor.mailbox], ["created", actor.create_time]];
    if (actor.link) fields.push(["link", actor.link]);
    if (actor.cron_schedule) fields.push(["cron schedule", actor.cron_schedule]);
    fillFields($("actor-fields"), fields);
    fillPairs($("actor-environment").querySelector("tbody"), actor.default_environment || {});
  }

  function selectActor(actorId) {
    if (!state.actor || state.actor.id !== actorId) {
      state.actor = {id: actorId, default_environment: {}};
      state.executionSkip = 0;
      selectExecution(null);
    }
    location.hash = "actor=" + enc(actorId);
    refreshSoon();
  }

  // -- executions ----------------------------------------------------------------------
  async function refreshExecutions() {
    if (!state.actor) return;
    const params = {skip: state.executionSkip, limit: PAGE, status: $("execution-status-filter").value};
    const page = await json(`${EMULATOR}/${enc(state.actor.id)}/executions?` + query(params));
    $("executions-count").textContent = `(${page.total})`;
    const rows = page.executions.map((execution) => {
      const tr = el("tr");
      tr.dataset.id = execution.id;
      if (state.execution === execution.id) tr.classList.add("selected");
      tr.appendChild(el("td", execution.id, "mono"));
      tr.appendChild(statusCell(execution.status));
      tr.appendChild(el("td", shortTime(execution.message_received_time)));
      tr.appendChild(el("td", shortTime(execution.start_time)));
      tr.appendChild(el("td", shortTime(execution.finish_time)));
      tr.appendChild(el("td", execution.runtime, "num"));
      tr.appendChild(el("td", execution.exit_code === null ? "" : execution.exit_code, "num"));
      tr.appendChild(el("td", execution.results, "num"));
      tr.addEventListener("click", () => selectExecution(execution.id));
      return tr;
    });
    $("executions").querySelector("tbody").replaceChildren(...rows);
    pager("executions-pager", state.executionSkip, page.total, page.executions.length);
  }

  function selectExecution(executionId) {
    state.execution = executionId;
    state.executionFinished = false;
    state.logLength = 0;
    $("execution-panel").hidden = !executionId;
    $("logs").textContent = "";
    $("results").replaceChildren();
    delete $("results").dataset.shown;
    if (executionId && state.actor) {
      location.hash = "actor=" + enc(state.actor.id) + "&execution=" + enc(executionId);
    }
    refreshSoon();
  }

  async function refreshExecution() {
    if (!state.actor || !state.execution) return;
    if (state.executionFinished && state.tick % 5 !== 0) return;  // ended: results may still be popped
    const base = `${EMULATOR}/${enc(state.actor.id)}/executions/${enc(state.execution)}`;
    const chosen = state.execution;
    const [detail, live] = await Promise.all([json(base), json(`${base}/logs?offset=${state.logLength}`)]);
    if (state.execution !== chosen) return;  // another one was chosen meanwhile: this answer is stale
    $("execution-title").textContent = detail.id;
    const status = $("execution-status");
    status.textContent = detail.status;
    status.className = "status status-" + detail.status.toLowerCase();
    fillFields($("execution-fields"), [
      ["status", detail.status], ["executor", detail.executor], ["worker", detail.worker_id || ""],
      ["message received", detail.message_received_time], ["started", detail.start_time || ""],
      ["finished", detail.finish_time || ""], ["runtime (s)", detail.runtime], ["cpu", detail.cpu],
      ["io", detail.io], ["exit code", detail.exit_code === null ? "" : detail.exit_code],
    ]);
    $("environment-note").textContent = detail.message_stored
      ? "The actor's default environment and the variables sent with the message (the emulator's own _abaco_ variables are not shown)."
      : "The actor's default environment (the message's own variables are kept only until its execution is recorded).";
    fillPairs($("execution-environment").querySelector("tbody"), detail.environment || {});
    showResults(base, detail.results);
    const logs = $("logs");
    const atBottom = logs.scrollHeight - logs.scrollTop - logs.clientHeight < 20;
    if (live.offset === 0) {
      if (logs.textContent !== live.logs) logs.textContent = live.logs;
    } else if (live.logs) {
      logs.append(live.logs);  // a text node: what follows what is shown
    }
    state.logLength = live.length;
    if (atBottom) logs.scrollTop = logs.scrollHeight;
    $("logs-state").textContent = live.finished ? "(ended)" : "(following…)";
    state.executionFinished = live.finished;
  }

  function showResults(base, count) {
    const list = $("results");
    if (list.dataset.shown === `${base} ${count}`) return;  // unchanged: keep the buttons
    list.dataset.shown = `${base} ${count}`;
    const items = [];
    for (let i = 0; i < count; i++) {
      const li = el("li");
      const button = el("button", `download result ${i + 1}`);
      button.type = "button";
      button.addEventListener("click", () => download(`${base}/results/${i}`, `${state.execution}-result-${i + 1}.bin`));
      li.appendChild(button);
      items.push(li);
    }
    if (!count) items.push(el("li", "none unread", "muted"));
    list.replaceChildren(...items);
  }

  async function download(path, filename) {
    try {
      const response = await call(path);
      if (!response.ok) throw new Error("HTTP " + response.status);
      const url = URL.createObjectURL(await response.blob());
      const link = el("a");
      link.href = url;
      link.download = filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      showProblem("Download failed: " + error.message);
    }
  }

  // -- sending -------------------------------------------------------------------------
  function messageKind() { return document.querySelector('input[name="kind"]:checked').value; }

  async function send(event) {
    event.preventDefault();
    if (!state.actor) return;
    const kind = messageKind();
    const result = $("send-result");
    let init;
    if (kind === "file") {
      const file = $("message-file").files[0];
      if (!file) { result.textContent = "choose a file first"; return; }
      init = {method: "POST", headers: {"Content-Type": "application/octet-stream"}, body: await file.arrayBuffer()};
    } else if (kind === "json") {
      const text = $("message-text").value;
      try { JSON.parse(text); } catch (e) { result.textContent = "not JSON: " + e.message; return; }
      init = {method: "POST", headers: {"Content-Type": "application/json"}, body: text};
    } else {
      init = {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
              body: new URLSearchParams({message: $("message-text").value}).toString()};
    }
    result.textContent = "sending…";
    try {
      const sent = await json(`${API}/${enc(state.actor.id)}/messages`, init);
      result.textContent = "sent: execution " + sent.executionId;
      state.executionSkip = 0;
      selectExecution(sent.executionId);
    } catch (error) {
      if (error instanceof Unauthorized) { askForToken(); return; }
      result.textContent = "refused: " + error.message;
    }
  }

  function syncKind() {
    const file = messageKind() === "file";
    $("message-file").hidden = !file;
    $("message-text").hidden = file;
  }

  // -- the loop ------------------------------------------------------------------------
  let timer = null;
  let running = false;

  async function refresh() {
    if (running) return;
    running = true;
    try {
      if (state.tick % 2 === 0 || !$("actors").querySelector("tbody").childElementCount) await refreshActors();
      await refreshExecutions();
      await refreshExecution();
      $("connection").textContent = "live";
      $("connection").className = "connection live";
      showProblem("");
      $("main").hidden = false;
    } catch (error) {
      if (error instanceof Unauthorized) {
        askForToken();
      } else {
        $("connection").textContent = "disconnected";
        $("connection").className = "connection down";
        showProblem(error.message);
      }
    } finally {
      running = false;
      state.tick += 1;
    }
  }

  function loop() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!state.needToken) await refresh();
      loop();
    }, 1000);
  }

  function refreshSoon() {
    if (!state.needToken) refresh().then(loop);
  }

  function askForToken() {
    state.needToken = true;
    const hadToken = !!token();
    sessionStorage.removeItem(TOKEN_KEY);
    $("main").hidden = true;
    $("token-panel").hidden = false;
    $("sign-out").hidden = true;
    $("token-error").textContent = hadToken ? "That token was refused." : "";
    $("connection").textContent = "needs a token";
    $("connection").className = "connection down";
  }

  function useToken(event) {
    event.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token-input").value = "";
    $("token-panel").hidden = true;
    $("sign-out").hidden = false;
    state.needToken = false;
    refreshSoon();
  }

  function restoreFromHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const actorId = params.get("actor");
    if (actorId) {
      state.actor = {id: actorId, default_environment: {}};
      state.execution = params.get("execution");
      $("execution-panel").hidden = !state.execution;
    }
  }

  function step(pagerId, key) {
    $(pagerId).addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      state[key] = Math.max(0, state[key] + Number(button.dataset.step) * PAGE);
      refreshSoon();
    });
  }

  function start() {
    $("token-form").addEventListener("submit", useToken);
    $("sign-out").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); askForToken(); });
    $("send-form").addEventListener("submit", send);
    for (const radio of document.querySelectorAll('input[name="kind"]')) radio.addEventListener("change", syncKind);
    for (const id of ["owner-filter", "status-filter"]) {
      $(id).addEventListener("change", () => { state.actorSkip = 0; refreshSoon(); });
    }
    $("search-filter").addEventListener("input", () => { state.actorSkip = 0; refreshSoon(); });
    $("execution-status-filter").addEventListener("change", () => { state.executionSkip = 0; refreshSoon(); });
    step("actors-pager", "actorSkip");
    step("executions-pager", "executionSkip");
    $("sign-out").hidden = !token();
    restoreFromHash();
    refreshSoon();
  }

  start();
})();
