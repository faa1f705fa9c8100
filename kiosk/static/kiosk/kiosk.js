/* Kiosk touch screen. Plain JavaScript, no build step.

   Flow: start (two services with prices) → contacts → payment (QR code, countdown, status
   polling) → service in progress (results posted by the kiosk agent; in DEV a button posts a
   sample) → done (where the report went) → back to start, also on session expiry and inactivity.

   The only credential is the kiosk's own token: `/kiosk/#token=<token>` (or `?token=`) once,
   or the setup form; it is kept in localStorage and removed from the address bar at once. */
(function () {
  "use strict";

  var TOKEN_KEY = "vendkiosk.kioskToken";
  var PAYMENT_POLL_MS = 1500;
  var REPORT_POLL_MS = 2000;
  var SESSION_POLL_MS = 5000;
  // How long the screen waits for the report to be delivered before it says "on its way".
  var REPORT_WAIT_MS = 45000;
  var REQUEST_TIMEOUT_MS = 10000;
  var IDLE_WARNING_S = 10;
  var NOTICE_SECONDS = 15;

  var text = JSON.parse(document.getElementById("kiosk-strings").textContent);
  var devSamples = JSON.parse(document.getElementById("kiosk-dev-samples").textContent);

  var state = {
    token: null,
    config: null,
    screen: null,
    flow: 0, // bumped on every reset: answers for an older flow are ignored
    cancelling: false, // the kiosk is cancelling the payment itself: polls do not decide the screen
    service: null,
    contact: null,
    session: null,
    intent: null,
    intentDeadline: null,
    qrUrl: null,
    report: null,
    reportSeenAt: null,
    idleDeadline: null,
    idleMode: null, // "warn": the inactivity timer runs (a prompt shows in its last seconds)
    idleFocus: null, // where focus goes back to when the prompt is dismissed
  };
  var timers = {};

  // --- Small helpers ---------------------------------------------------------------------

  function $(id) {
    return document.getElementById(id);
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : match;
    });
  }

  function rubles(kopecks) {
    var whole = kopecks % 100 === 0;
    return new Intl.NumberFormat(document.documentElement.lang || "ru", {
      style: "currency",
      currency: (state.config && state.config.settings.currency) || "RUB",
      minimumFractionDigits: whole ? 0 : 2,
      maximumFractionDigits: whole ? 0 : 2,
    }).format(kopecks / 100);
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.ceil(seconds));
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function maskEmail(email) {
    var at = email.indexOf("@");
    if (at < 1) return email;
    return email.slice(0, Math.min(2, at)) + "•••" + email.slice(at);
  }

  function maskPhone(phone) {
    // +79161234567 → +7 ••• •••-45-67: enough for the client to recognise, not for a passer-by.
    var digits = phone.replace(/\D/g, "");
    if (digits.length < 6) return phone;
    var tail = digits.slice(-4);
    return "+" + digits.slice(0, digits.length - 10 > 0 ? digits.length - 10 : 1) +
      " ••• •••-" + tail.slice(0, 2) + "-" + tail.slice(2);
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  function every(name, ms, callback) {
    stop(name);
    timers[name] = { kind: "interval", id: setInterval(callback, ms) };
  }

  function after(name, ms, callback) {
    stop(name);
    timers[name] = { kind: "timeout", id: setTimeout(callback, ms) };
  }

  // Like `every`, but the next round is scheduled only when this one has finished: a slow or
  // retrying request never piles up behind itself.
  function loop(name, ms, step) {
    var marker = {};
    function schedule() {
      timers[name] = { kind: "timeout", id: setTimeout(tick, ms), marker: marker };
    }
    function again() {
      if (timers[name] && timers[name].marker === marker) schedule();
    }
    function tick() {
      step().then(again, function (error) {
        if (error instanceof Stale) return;
        console.error(error);
        again();
      });
    }
    stop(name);
    schedule();
  }

  function stop(name) {
    var timer = timers[name];
    if (!timer) return;
    (timer.kind === "interval" ? clearInterval : clearTimeout)(timer.id);
    delete timers[name];
  }

  function stopAll() {
    Object.keys(timers).forEach(stop);
  }

  function Stale() {
    this.name = "Stale";
  }

  // --- The API: kiosk token, timeouts, retries with a visible "no connection" banner -------

  var offline = false;

  function setOffline(down) {
    var banner = $("network");
    if (down === offline) return;
    offline = down;
    clearTimeout(setOffline.hideTimer);
    banner.classList.toggle("back", !down);
    banner.classList.add("show");
    banner.textContent = down ? text.network_lost : text.network_back;
    if (!down) {
      setOffline.hideTimer = setTimeout(function () {
        banner.classList.remove("show", "back");
        banner.textContent = "";
      }, 2500);
    }
  }

  async function send(method, path, body) {
    var controller = new AbortController();
    var timeout = setTimeout(function () {
      controller.abort();
    }, REQUEST_TIMEOUT_MS);
    try {
      var headers = { Accept: "application/json", Authorization: "Kiosk " + state.token };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return await fetch(path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
        signal: controller.signal,
      });
    } catch (error) {
      return null; // network down, DNS, timeout: all the same to the client
    } finally {
      clearTimeout(timeout);
    }
  }

  /* One API call. Network failures, 5xx and 429 are retried with back-off (1, 2, 4 … 10 s)
     while "Нет связи, повторяем…" shows; anything else is returned to the caller. A POST that
     may have reached the server is only repeated after `recover()` found nothing to reuse. */
  async function api(method, path, body, options) {
    options = options || {};
    var flow = state.flow;
    var delay = 1000;
    for (;;) {
      var response = await send(method, path, body);
      if (flow !== state.flow) throw new Stale();
      if (response && response.status < 500 && response.status !== 429) {
        setOffline(false);
        if (response.status === 401) {
          forgetToken(text.token_rejected);
          throw new Stale();
        }
        return response;
      }
      setOffline(true);
      await sleep(delay);
      delay = Math.min(delay * 2, 10000);
      if (flow !== state.flow) throw new Stale();
      if (options.recover) {
        var recovered = await options.recover();
        if (recovered) return recovered;
      }
    }
  }

  async function json(response) {
    try {
      return await response.json();
    } catch (error) {
      return {};
    }
  }

  // Runs an async step of the current flow; a stale answer is dropped, a surprise is shown.
  function run(step) {
    step().catch(function (error) {
      if (error instanceof Stale) return;
      console.error(error);
      showNotice(text.error_generic, "");
    });
  }

  // --- Screens --------------------------------------------------------------------------

  function show(name) {
    document.querySelectorAll(".screen").forEach(function (section) {
      section.hidden = section.id !== "screen-" + name;
    });
    state.screen = name;
    var heading = document.querySelector("#screen-" + name + " h1");
    if (heading) heading.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }

  /* Back to the start screen: every timer stopped, every trace of the last client wiped. */
  function reset(notice) {
    if (!state.config) return run(boot);
    state.flow += 1;
    stopAll();
    hideIdleDialog();
    if (state.qrUrl) URL.revokeObjectURL(state.qrUrl);
    state.service = state.contact = state.session = state.intent = state.report = null;
    state.intentDeadline = state.qrUrl = state.reportSeenAt = null;
    $("contact-form").reset();
    clearContactErrors();
    $("qr").hidden = true;
    $("qr").removeAttribute("src");
    show("start");
    $("start-notice").textContent = notice || "";
    if (notice) after("notice", NOTICE_SECONDS * 1000, function () {
      $("start-notice").textContent = "";
    });
    setIdle(null);
  }

  function showNotice(title, message) {
    state.flow += 1;
    stopAll();
    hideIdleDialog();
    $("notice-title").textContent = title;
    $("notice-text").textContent = message;
    show("notice");
    var autoReset = !state.config || state.config.settings.auto_reset_on_timeout;
    if (autoReset) {
      countdownToStart("notice-return", Math.min(NOTICE_SECONDS, idleSeconds()));
    } else {
      $("notice-return").textContent = "";
    }
  }

  function countdownToStart(elementId, seconds) {
    var end = Date.now() + seconds * 1000;
    function tick() {
      var left = (end - Date.now()) / 1000;
      if (left <= 0) return reset();
      $(elementId).textContent = format(text.return_in, { seconds: Math.ceil(left) });
    }
    tick();
    every("return", 250, tick);
  }

  // --- Inactivity -----------------------------------------------------------------------

  function idleSeconds() {
    return (state.config && state.config.settings.idle_timeout_s) || 90;
  }

  // mode: "warn" (a prompt in the last seconds, then the start screen) or null (no inactivity
  // timer: the start screen itself, payment and service in progress; the done and notice
  // screens show their own countdown).
  function setIdle(mode) {
    state.idleMode = mode;
    stop("idle");
    hideIdleDialog();
    if (mode !== "warn") return;
    touchIdle();
    every("idle", 250, function () {
      var left = (state.idleDeadline - Date.now()) / 1000;
      if (left <= 0) return reset();
      if (left <= Math.min(IDLE_WARNING_S, idleSeconds() / 3)) {
        $("idle-text").textContent = format(text.idle_text, { seconds: Math.ceil(left) });
        if ($("idle").hidden) {
          state.idleFocus = document.activeElement;
          $("idle").hidden = false;
          $("idle-continue").focus();
        }
      }
    });
  }

  function touchIdle() {
    state.idleDeadline = Date.now() + idleSeconds() * 1000;
  }

  function hideIdleDialog() {
    if ($("idle").hidden) return;
    $("idle").hidden = true;
    var back = state.idleFocus;
    state.idleFocus = null;
    if (back && back !== document.body && document.contains(back) && back.offsetParent !== null) {
      back.focus({ preventScroll: true });
    }
  }

  ["pointerdown", "keydown", "input"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (state.idleMode !== "warn") return;
      if ($("idle").hidden) return touchIdle();
      if (type === "keydown" && event.key === "Tab") {
        // The prompt is modal: focus stays on its one button.
        event.preventDefault();
        $("idle-continue").focus();
      } else if (type === "pointerdown") {
        touchIdle(); // any touch while the prompt shows means "I am here"
      }
    }, true);
  });

  // The prompt closes on "Continue" or a touch beside it (on click, not on pointerdown, so the
  // same touch does not land on whatever lies under the prompt).
  $("idle").addEventListener("click", function (event) {
    if (event.target === $("idle") || event.target === $("idle-continue")) {
      touchIdle();
      hideIdleDialog();
    }
  });

  // --- Session expiry (autoResetOnTimeout) --------------------------------------------------

  function trackSession(session) {
    state.session = session;
    // Timed on this clock from the server's remaining lifetime, not from its wall clock.
    var ttl = Date.parse(session.expires_at) - Date.parse(session.updated_at);
    after("session-expiry", Math.max(ttl, 0) + 250, sessionExpired);
  }

  function watchSession() {
    loop("session-poll", SESSION_POLL_MS, async function () {
      if (!state.session) return;
      var response = await api("GET", "/api/sessions/" + state.session.id);
      if (!response.ok) return;
      var session = await json(response);
      if (session.status === "expired") sessionExpired();
    });
  }

  function sessionExpired() {
    stop("session-expiry");
    stop("session-poll");
    run(async function () {
      // A payment still open is cancelled first; if the client managed to pay, they get the
      // service they paid for rather than a reset.
      if (state.screen === "payment" && state.intent) {
        var status = await cancelIntent();
        if (status === "succeeded") return paid();
      }
      var autoReset = !state.config || state.config.settings.auto_reset_on_timeout;
      if (autoReset) reset(text.session_expired);
      else showNotice(text.session_expired, "");
    });
  }

  // --- Start and setup ------------------------------------------------------------------------

  function readToken() {
    var hash = new URLSearchParams(location.hash.replace(/^#/, ""));
    var query = new URLSearchParams(location.search);
    var given = hash.get("token") || query.get("token");
    if (given) {
      localStorage.setItem(TOKEN_KEY, given);
      query.delete("token");
      var rest = query.toString();
      history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
    }
    return localStorage.getItem(TOKEN_KEY);
  }

  function forgetToken(message) {
    localStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.flow += 1;
    stopAll();
    setIdle(null);
    $("setup-error").textContent = message || "";
    show("setup");
  }

  async function boot() {
    state.token = readToken();
    if (!state.token) return forgetToken("");
    var response = await api("GET", "/api/kiosk/me");
    if (!response.ok) throw new Error("kiosk/me answered " + response.status);
    applyConfig(await json(response));
    reset();
  }

  function applyConfig(config) {
    state.config = config;
    $("brand-name").textContent = config.brand.name || config.name;
    $("brand-address").textContent = config.brand.address || "";
    $("brand-support").textContent = config.brand.support
      ? format(text.support, { contact: config.brand.support })
      : "";
    if (/^#[0-9a-fA-F]{6}$/.test(config.brand.color || "")) {
      document.documentElement.style.setProperty("--brand", config.brand.color);
    }
    document.querySelectorAll("[data-price]").forEach(function (element) {
      element.textContent = rubles(config.prices[element.dataset.price]);
    });
    $("dev-badge").hidden = !isDev();
  }

  function isDev() {
    return Boolean(state.config && state.config.settings.environment === "DEV" && devSamples);
  }

  $("setup-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var token = $("token").value.trim();
    if (!token) return;
    localStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    $("setup-error").textContent = "";
    run(boot);
  });

  document.querySelectorAll("[data-service]").forEach(function (button) {
    button.addEventListener("click", function () {
      chooseService(button.dataset.service);
    });
  });

  document.querySelectorAll("[data-action=restart]").forEach(function (button) {
    button.addEventListener("click", function () {
      reset();
    });
  });

  function serviceName(service) {
    return document.querySelector("#choose-" + service + " .service-name").textContent;
  }

  function chooseService(service) {
    state.service = service;
    $("contact-chosen").textContent =
      serviceName(service) + " — " + rubles(state.config.prices[service]);
    show("contact");
    setIdle("warn");
    $("email").focus();
  }

  // --- Contacts -----------------------------------------------------------------------------

  var EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;

  function normalizePhone(value) {
    // The server's rule (kiosk/api.py): E.164, a Russian 8XXXXXXXXXX becomes +7XXXXXXXXXX.
    var compact = value.replace(/[\s().-]/g, "");
    if (/^8\d{10}$/.test(compact)) compact = "+7" + compact.slice(1);
    if (/^9\d{9}$/.test(compact)) compact = "+7" + compact;
    return /^\+[1-9]\d{7,14}$/.test(compact) ? compact : null;
  }

  function fieldError(id, message) {
    $(id).setAttribute("aria-invalid", message ? "true" : "false");
    $(id + "-error").textContent = message || "";
  }

  function clearContactErrors() {
    fieldError("email", "");
    fieldError("phone", "");
    $("contact-error").textContent = "";
  }

  function validateContact() {
    clearContactErrors();
    var email = $("email").value.trim();
    var phoneText = $("phone").value.trim();
    var phone = phoneText ? normalizePhone(phoneText) : "";
    var ok = true;
    if (email && !EMAIL_RE.test(email)) {
      fieldError("email", text.email_invalid);
      ok = false;
    }
    if (phoneText && !phone) {
      fieldError("phone", text.phone_invalid);
      ok = false;
    }
    if (ok && !email && !phone) {
      $("contact-error").textContent = text.contact_missing;
      $("email").focus();
      return null;
    }
    if (!ok) {
      var first = document.querySelector("#contact-form [aria-invalid=true]");
      if (first) first.focus();
      return null;
    }
    return { email: email, phone: phone };
  }

  $("contact-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var contact = validateContact();
    if (!contact) return;
    state.contact = contact;
    run(startSession);
  });

  async function startSession() {
    var submit = $("contact-submit");
    submit.disabled = true;
    try {
      var response = await api("POST", "/api/sessions", {
        type: state.service,
        contact: state.contact,
        metadata: { source: "kiosk-screen" },
      });
      var body = await json(response);
      if (response.status === 400) {
        var errors = body.contact || {};
        if (errors.email) fieldError("email", text.email_invalid);
        if (errors.phone) fieldError("phone", text.phone_invalid);
        if (!errors.email && !errors.phone) $("contact-error").textContent = text.contact_missing;
        return;
      }
      if (!response.ok) throw new Error("sessions answered " + response.status);
      state.contact = body.contact;
      $("contact-form").reset(); // nothing of the client's left in the form behind the payment
      trackSession(body);
      watchSession();
      await startPayment();
    } finally {
      submit.disabled = false;
    }
  }

  // --- Payment --------------------------------------------------------------------------------

  async function findPendingIntent() {
    var response = await send(
      "GET", "/api/payments/intent?status=pending&session=" + state.session.id
    );
    if (!response || !response.ok) return null;
    var body = await json(response);
    var rows = body.results || body;
    return rows && rows.length ? { ok: true, status: 201, json: async () => rows[0] } : null;
  }

  async function startPayment() {
    setIdle(null);
    $("pay-title").textContent = format(text.pay_title, {
      amount: rubles(state.config.prices[state.service]),
    });
    $("pay-status").textContent = text.waiting_payment;
    $("pay-countdown").textContent = "";
    $("qr").hidden = true;
    $("qr-placeholder").hidden = false;
    $("dev-confirm").hidden = !(isDev() && state.config.settings.dev_manual_mode);
    $("pay-cancel").disabled = true; // until there is a payment to cancel
    show("payment");
    var response = await api(
      "POST",
      "/api/payments/intent",
      { session_id: state.session.id },
      { recover: findPendingIntent }
    );
    var intent = await json(response);
    if (response.status === 409) return sessionExpired();
    if (!response.ok) throw new Error("intent answered " + response.status);
    state.intent = intent;
    $("pay-cancel").disabled = false;
    var ttl = Date.parse(intent.expires_at) - Date.parse(intent.created_at);
    state.intentDeadline = Date.now() + Math.max(ttl, 0);
    $("pay-title").textContent = format(text.pay_title, { amount: rubles(intent.amount) });
    every("pay-countdown", 250, tickPaymentCountdown);
    tickPaymentCountdown();
    loop("pay-poll", PAYMENT_POLL_MS, pollPayment);
    await loadQr();
    handlePaymentStatus(intent.status);
  }

  function tickPaymentCountdown() {
    var left = (state.intentDeadline - Date.now()) / 1000;
    var element = $("pay-countdown");
    element.textContent = format(text.time_left, { time: clock(left) });
    element.classList.toggle("urgent", left <= 60);
    // A second's grace, so the server agrees the intent is past its expiry.
    if (left <= -1) {
      stop("pay-countdown");
      run(async function () {
        handlePaymentStatus(await cancelIntent());
      });
    }
  }

  async function loadQr() {
    if (!state.intent || !state.intent.qr_code_data || state.qrUrl) return;
    var response = await api("GET", "/api/payments/qr/" + state.intent.id);
    if (!response.ok) return; // not ready yet, or closed: the status poll handles both
    var blob = await response.blob();
    state.qrUrl = URL.createObjectURL(blob);
    var image = $("qr");
    image.src = state.qrUrl;
    image.alt = format(text.qr_alt, { amount: rubles(state.intent.amount) });
    image.hidden = false;
    $("qr-placeholder").hidden = true;
  }

  async function pollPayment() {
    if (!state.intent || state.screen !== "payment") return;
    var response = await api("GET", "/api/payments/status/" + state.intent.id);
    if (!response.ok) return;
    var status = await json(response);
    if (status.qr_code_data && !state.intent.qr_code_data) {
      state.intent.qr_code_data = status.qr_code_data;
      await loadQr();
    }
    handlePaymentStatus(status.status);
  }

  function handlePaymentStatus(status) {
    // A poll answered while the kiosk itself cancels the payment (the client left, the
    // session ran out) must not show "payment cancelled": whoever cancels decides the screen.
    if (state.screen !== "payment" || state.cancelling) return;
    if (status === "succeeded") return paid();
    if (status === "canceled") return showNotice(text.payment_canceled_title, text.payment_canceled_text);
    if (status === "expired") return showNotice(text.payment_expired_title, text.payment_expired_text);
    if (status === "failed") return showNotice(text.payment_failed_title, text.payment_failed_text);
  }

  async function cancelIntent() {
    if (!state.intent) return null;
    stop("pay-poll");
    $("pay-status").textContent = text.canceling;
    $("pay-cancel").disabled = true;
    state.cancelling = true;
    try {
      for (;;) {
        var response = await api("POST", "/api/payments/cancel/" + state.intent.id);
        var body = await json(response);
        if (response.ok && body.status !== "pending") return body.status;
        await sleep(2000); // the PSP did not answer: ask again
      }
    } finally {
      state.cancelling = false;
      $("pay-cancel").disabled = false;
    }
  }

  $("pay-cancel").addEventListener("click", function () {
    run(async function () {
      handlePaymentStatus(await cancelIntent());
    });
  });

  $("dev-confirm").addEventListener("click", function () {
    run(async function () {
      await api("POST", "/api/payments/confirm/" + state.intent.id);
      await pollPayment();
    });
  });

  // --- Service in progress --------------------------------------------------------------------

  function paid() {
    stop("pay-poll");
    stop("pay-countdown");
    state.report = null;
    state.reportSeenAt = null;
    $("service-title").textContent = text["service_title_" + state.service];
    $("service-text").textContent = text["service_text_" + state.service];
    $("service-status").textContent = text.scan_waiting;
    $("dev-scan").hidden = !isDev();
    $("dev-scan").disabled = false;
    show("service");
    loop("report-poll", REPORT_POLL_MS, pollReport);
  }

  async function findReport() {
    var response = await send("GET", "/api/reports/session/" + state.session.id);
    if (!response || !response.ok) return null;
    var rows = await json(response);
    return rows.length ? { ok: true, status: 202, json: async () => rows[0] } : null;
  }

  $("dev-scan").addEventListener("click", function () {
    var button = $("dev-scan");
    button.disabled = true;
    run(async function () {
      var response = await api(
        "POST",
        "/api/reports/" + state.service,
        Object.assign({ session_id: state.session.id }, devSamples[state.service]),
        { recover: findReport }
      );
      if (!response.ok) {
        button.disabled = false;
        throw new Error("report answered " + response.status);
      }
      button.hidden = true;
      showReport(await json(response));
    });
  });

  async function pollReport() {
    if (state.screen !== "service") return;
    var response = await api("GET", "/api/reports/session/" + state.session.id);
    if (!response.ok) return;
    var reports = await json(response);
    if (reports.length) showReport(reports[reports.length - 1]);
  }

  function showReport(report) {
    if (state.screen !== "service") return;
    state.report = report;
    if (!state.reportSeenAt) state.reportSeenAt = Date.now();
    $("dev-scan").hidden = true;
    var waitedTooLong = Date.now() - state.reportSeenAt > REPORT_WAIT_MS;
    if (report.status === "delivered" || report.status === "failed" || waitedTooLong) {
      return finish(report);
    }
    var line = report.status === "generated" ? text.report_sending : text.report_generating;
    if ($("service-status").textContent !== line) $("service-status").textContent = line;
  }

  // --- Done -------------------------------------------------------------------------------------

  function finish(report) {
    stop("report-poll");
    stop("session-poll");
    stop("session-expiry");
    var byChannel = {};
    (report.deliveries || []).forEach(function (delivery) {
      byChannel[delivery.channel] = delivery.status;
    });
    var generationFailed = report.status === "failed" && report.failed_stage === "generate";
    var anyFailed = generationFailed || Object.values(byChannel).indexOf("failed") >= 0;
    var allSent = report.status === "delivered";
    var title = allSent ? text.done_title : anyFailed ? text.done_failed_title : text.done_pending_title;
    $("done-title").textContent = title;
    $("done-icon-ok").hidden = !allSent;
    $("done-icon-later").hidden = allSent;
    $("done-text").textContent = anyFailed ? text.done_failed_text : "";
    $("done-text").hidden = !anyFailed;
    var list = $("done-channels");
    list.textContent = "";
    var contact = state.contact || {};
    function line(channel, values) {
      var status = generationFailed ? "failed" : byChannel[channel];
      var key = channel + (status === "sent" ? "_sent" : status === "failed" ? "_later" : "_pending");
      var item = document.createElement("li");
      item.textContent = format(text[key], values);
      list.appendChild(item);
    }
    if (contact.email) line("email", { email: maskEmail(contact.email) });
    if (contact.phone) line("sms", { phone: maskPhone(contact.phone) });
    show("done");
    countdownToStart("done-return", Math.min(30, idleSeconds()));
    run(async function () {
      // The visit is over; a 409 (already completed or expired) changes nothing for the client.
      await api("POST", "/api/sessions/" + state.session.id + "/complete");
    });
  }

  // --- Go -----------------------------------------------------------------------------------------

  run(boot);
})();
