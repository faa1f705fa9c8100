"use strict";
// The Mini App: signs in with Telegram's initData (or the browser's session), lists the
// person's open tasks in route order and completes one through the tasks API.
(function () {
  const T = JSON.parse(document.getElementById("texts").textContent);
  const $ = (id) => document.getElementById(id);
  const UNITS = T.units || {};
  let ownerId = null;
  let tasks = [];

  function cookie(name) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return found ? decodeURIComponent(found.split("=")[1]) : "";
  }

  function initData() {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get("tgWebAppData");
    if (fromHash) return fromHash;
    const tg = window.Telegram && window.Telegram.WebApp;
    return tg && tg.initData ? tg.initData : "";
  }

  async function api(path, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    opts.headers["X-CSRFToken"] = cookie("csrftoken");
    if (ownerId !== null) opts.headers["X-Owner-Id"] = String(ownerId);
    return fetch(path, opts);
  }

  function show(id, visible) { $(id).hidden = !visible; }

  function status(text) { $("status").textContent = text; show("status", Boolean(text)); }

  function number(value) {
    const n = Number(value);
    return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000).replace(".", ",");
  }

  function errorText(body) {
    if (!body || typeof body !== "object") return T.failed;
    if (body.detail) return String(body.detail);
    return Object.values(body).flat().map(String).join(" ") || T.failed;
  }

  async function start() {
    const data = initData();
    if (data) {
      const answer = await fetch("/api/telegram/webapp-session", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ init_data: data }),
      });
      if (!answer.ok) {
        status(errorText(await answer.json().catch(() => null)));
        $("status").classList.add("error");
        return;
      }
    }
    const me = await api("/api/me/");
    if (!me.ok) { status(""); show("signin", true); return; }
    const body = await me.json();
    if (!body.memberships.length) { status(T.no_access); return; }
    ownerId = body.memberships[0].owner_id;
    await loadTasks();
  }

  function toBring(task) {
    // A task kitted by a pick list brings what the list says; else what is missing now.
    if ((task.bring || []).length) {
      return task.bring.map((b) => ({ name: b.item_name, amount: Number(b.quantity) }));
    }
    return (task.ingredients || [])
      .filter((i) => i.critical && Number(i.max_stock) > Number(i.current_stock))
      .map((i) => ({ name: i.name, amount: Number(i.max_stock) - Number(i.current_stock) }));
  }

  async function loadTasks() {
    const answer = await api("/api/tasks/my/?page_size=200");
    if (!answer.ok) { status(errorText(await answer.json().catch(() => null))); return; }
    const body = await answer.json();
    tasks = body.results || body;
    const list = $("tasks");
    list.textContent = "";
    tasks.forEach((task, index) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "task";
      button.dataset.taskId = String(task.id);
      const title = document.createElement("span");
      title.className = "task-title";
      title.textContent = `${index + 1}. ${task.terminal_name}`;
      button.append(title);
      const details = task.details || {};
      const missing = details.missing_items || [];
      const critical = (details.critical_items || []).filter((n) => !missing.includes(n));
      if (critical.length) button.append(line(`${T.critical}: ${critical.join(", ")}`, "critical"));
      if (missing.length) button.append(line(`${T.missing}: ${missing.join(", ")}`, "missing"));
      const bring = toBring(task);
      if (bring.length) {
        button.append(line(`${T.bring}: ${bring.map((b) => `${b.name} ${number(b.amount)}`).join(", ")}`, "bring"));
      }
      if (task.comment) button.append(line(task.comment, "comment"));
      button.addEventListener("click", () => openTask(task));
      item.append(button);
      list.append(item);
    });
    status(tasks.length ? "" : T.no_tasks);
    show("tasks", tasks.length > 0);
    show("task", false);
    show("back", false);
    $("title").textContent = T.my_tasks;
  }

  function line(text, cls) {
    const span = document.createElement("span");
    span.className = "line " + cls;
    span.textContent = text;
    return span;
  }

  function openTask(task) {
    show("tasks", false);
    show("done", false);
    show("back", true);
    show("task", true);
    show("form-error", false);
    $("title").textContent = T.task;
    $("task-terminal").textContent = task.terminal_name;
    $("task-comment").textContent = task.comment || "";
    show("task-comment", Boolean(task.comment));
    const containers = $("containers");
    const amounts = $("amounts");
    containers.textContent = "";
    amounts.textContent = "";
    (task.ingredients || []).forEach((ing, index) => {
      const li = document.createElement("li");
      li.className = ing.critical ? "container critical" : "container";
      const label = document.createElement("span");
      label.className = "container-name";
      const unit = UNITS[ing.unit] ? ` ${UNITS[ing.unit]}` : "";
      label.textContent = `${ing.name}: ${number(ing.current_stock)} / ${number(ing.max_stock)}${unit}`;
      const bar = document.createElement("div");
      bar.className = "bar-track";
      bar.setAttribute("role", "meter");
      bar.setAttribute("aria-label", ing.name);
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", "100");
      bar.setAttribute("aria-valuenow", String(ing.percentage));
      const fill = document.createElement("div");
      fill.className = "bar-fill";
      fill.style.width = `${Math.max(0, Math.min(100, ing.percentage))}%`;
      bar.append(fill);
      li.append(label, bar);
      containers.append(li);

      const id = `amount-${index}`;
      const field = document.createElement("label");
      field.className = "field";
      field.htmlFor = id;
      field.textContent = ing.name;
      if (UNITS[ing.unit]) {
        const hint = document.createElement("span");
        hint.className = "unit";
        hint.textContent = `, ${UNITS[ing.unit]}`;
        field.append(hint);
      }
      const input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.id = id;
      input.dataset.item = ing.name;
      const planned = (task.bring || []).find((b) => b.item_name === ing.name);
      input.value = planned
        ? number(Math.min(Number(ing.max_stock), Number(ing.current_stock) + Number(planned.quantity)))
        : number(ing.max_stock);
      amounts.append(field, input);
    });
    $("complete").dataset.taskId = String(task.id);
  }

  async function complete(event) {
    event.preventDefault();
    const form = $("complete");
    const stock = Array.from(form.querySelectorAll("input[data-item]"))
      .filter((input) => input.value.trim() !== "")
      .map((input) => ({ item_name: input.dataset.item, current_stock: input.value.trim().replace(",", ".") }));
    const data = new FormData();
    data.append("updated_stock", JSON.stringify(stock));
    const photo = $("photo").files[0];
    if (photo) data.append("photo", photo);
    $("submit").disabled = true;
    try {
      const answer = await api(`/api/tasks/${form.dataset.taskId}/complete/`, { method: "POST", body: data });
      if (!answer.ok) {
        $("form-error").textContent = errorText(await answer.json().catch(() => null));
        show("form-error", true);
        return;
      }
      form.reset();
      $("photo-name").textContent = T.take_photo;
      await loadTasks();
      $("done").textContent = T.completed;
      show("done", true);
    } finally {
      $("submit").disabled = false;
    }
  }

  $("complete").addEventListener("submit", complete);
  $("photo").addEventListener("change", () => {
    const file = $("photo").files[0];
    $("photo-name").textContent = file ? file.name : T.take_photo;
  });
  $("back").addEventListener("click", () => loadTasks());
  if (window.Telegram && window.Telegram.WebApp && window.Telegram.WebApp.ready) window.Telegram.WebApp.ready();
  start().catch(() => status(T.failed));
})();
