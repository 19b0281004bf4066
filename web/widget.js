/*
 * Meldwijzer chat widget: one script for the full page (/chat) and for embedding in an intranet page.
 *
 *   <script src="http://host:5005/chat/widget.js" data-meldwijzer-server="http://host:5005"></script>
 *
 * renders a floating launcher and a chat panel; the page at /chat loads the same script with
 * data-meldwijzer-mode="page". Optional: data-meldwijzer-token="<signed JWT>", or
 * window.MeldwijzerConfig = {server, token, mode}, where token may be a function returning the
 * (fresh) token or a promise of it; it is asked for on every (re)connect.
 *
 * It speaks Rasa's socket.io protocol (session_request / session_confirm / user_uttered / bot_uttered), plus
 * turn_end, which Meldwijzer's web channel sends after the last reply of a turn.
 * Bot text is rendered as text nodes only (URLs become links); nothing from a message is parsed as HTML.
 * Message text is never stored in the browser: only the random session id is kept, in sessionStorage
 * (this tab only), so a shared computer does not show the last teacher's conversation. Without a staff
 * token the page says it is a trial, and the server ends such a session after 30 minutes of silence.
 */
(function () {
  "use strict";

  var MAX_CHARS = 2000;
  var WARN_CHARS = 1800;
  var URL_PATTERN = /https?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)\]]/g;
  var TEXT = {
    title: "Meldwijzer",
    subtitle: "Hulp bij de meldcode",
    launcher: "Meldwijzer",
    close: "Sluiten",
    newConversation: "Nieuw gesprek",
    confirmNew: "Een nieuw gesprek beginnen? U bent niet aangemeld: uw casus blijft bij het huidige gesprek " +
      "en is daarna in deze browser niet meer terug te vinden. Wilt u later verder met deze casus, kies dan " +
      "\u2018Annuleren\u2019.",
    confirmYes: "Ja, nieuw gesprek",
    confirmNo: "Annuleren",
    trial: "Proefgebruik zonder inloggen: dit gesprek hoort bij dit tabblad en stopt na 30 minuten " +
      "zonder bericht. Op een gedeelde computer: klik op \u2018Nieuw gesprek\u2019 als u klaar bent.",
    inputLabel: "Uw bericht",
    send: "Versturen",
    hint: "Enter verstuurt, Shift+Enter geeft een nieuwe regel. Noem geen namen van leerlingen.",
    counter: function (n) { return n + " / " + MAX_CHARS + " tekens"; },
    welcome: "Goedendag. Beschrijf kort uw zorg of stel een vraag over de meldcode.",
    resumed: "U gaat verder met uw vorige gesprek. Kies \u2018Nieuw gesprek\u2019 om opnieuw te beginnen.",
    connecting: "Verbinden\u2026",
    connected: "",
    thinking: "Meldwijzer schrijft\u2026",
    offline: "Geen verbinding met Meldwijzer. We proberen het opnieuw. Bij acuut gevaar: bel 112.",
    refused: "Meldwijzer weigert de verbinding (niet aangemeld?). Bij acuut gevaar: bel 112.",
    notSent: "Niet verstuurd: er is geen verbinding.",
    botPrefix: "Meldwijzer: ",
    userPrefix: "U: ",
    choices: "Keuzes",
    downloads: "Downloads",
    newTab: " (opent in een nieuw tabblad)"
  };

  var script = document.currentScript;
  var instance = 0;

  /** Settings from window.MeldwijzerConfig, else the script tag's data attributes, else defaults. */
  function readConfig() {
    var global = window.MeldwijzerConfig || {};
    var data = script ? script.dataset : {};
    var assets = script ? new URL(".", script.src).href : new URL("/chat/", location.href).href;
    return {
      assets: assets,
      server: String(global.server || data.meldwijzerServer || new URL(assets).origin).replace(/\/+$/, ""),
      token: global.token || data.meldwijzerToken || null,
      mode: global.mode || data.meldwijzerMode || "launcher"
    };
  }

  /** Create an element; attrs "text" and "class" are special, the rest become attributes. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; }
      else if (key === "class") { node.className = attrs[key]; }
      else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { node.append(child); });
    return node;
  }

  /** Text with its http(s) URLs as links, built from text nodes only (never innerHTML). */
  function linkified(text) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    text.replace(URL_PATTERN, function (url, offset) {
      fragment.append(text.slice(last, offset));
      fragment.append(el("a", { href: url, text: url, target: "_blank", rel: "noopener noreferrer" }));
      last = offset + url.length;
      return url;
    });
    fragment.append(text.slice(last));
    return fragment;
  }

  function loadStylesheet(href) {
    if (!document.querySelector('link[href="' + href + '"]')) {
      document.head.append(el("link", { rel: "stylesheet", href: href }));
    }
  }

  /** Load the vendored socket.io client without clobbering a different `io` the host page may have. */
  function loadSocketIo(src) {
    return new Promise(function (resolve, reject) {
      var previous = window.io;
      var tag = el("script", { src: src });
      tag.onload = function () {
        var ours = window.io;
        if (previous === undefined) { delete window.io; } else { window.io = previous; }
        resolve(ours);
      };
      tag.onerror = function () { reject(new Error("socket.io client not loaded from " + src)); };
      document.head.append(tag);
    });
  }

  /** sessionStorage (this tab only) may be unavailable (privacy settings); then every visit is new. */
  var storage = {
    get: function (key) { try { return window.sessionStorage.getItem(key); } catch (e) { return null; } },
    set: function (key, value) { try { window.sessionStorage.setItem(key, value); } catch (e) { /* none */ } },
    remove: function (key) { try { window.sessionStorage.removeItem(key); } catch (e) { /* none */ } }
  };

  /** The panel's DOM: header, 112 bar, message log, status line, message form. */
  function buildPanel(id, mode, signedIn) {
    var heading = el(mode === "page" ? "h1" : "h2", { id: id + "-title", class: "mw-title", text: TEXT.title });
    var newButton = el("button", { type: "button", class: "mw-new", text: TEXT.newConversation });
    var closeButton = el("button", { type: "button", class: "mw-close", text: TEXT.close });
    var tools = el("div", { class: "mw-tools" }, mode === "page" ? [newButton] : [newButton, closeButton]);
    var header = el("header", { class: "mw-header" }, [
      el("div", { class: "mw-brand" }, [heading, el("p", { class: "mw-subtitle", text: TEXT.subtitle })]), tools
    ]);
    var alertBar = el("p", { class: "mw-alert" }, [
      "Bij acuut gevaar: bel ", el("a", { href: "tel:112", text: "112" }),
      " \u2014 advies of melding: Veilig Thuis ", el("a", { href: "tel:08002000", text: "0800-2000" }),
      " (gratis, 24/7)"
    ]);
    var log = el("div", { id: id + "-log", class: "mw-log", role: "log", "aria-live": "polite",
      "aria-label": "Gesprek", tabindex: "0" });
    var status = el("p", { class: "mw-status", role: "status" });
    var input = el("textarea", { id: id + "-input", class: "mw-input", rows: "2", maxlength: String(MAX_CHARS),
      "aria-describedby": id + "-counter " + id + "-hint", autocomplete: "off" });
    var counter = el("span", { id: id + "-counter", class: "mw-counter", text: TEXT.counter(0) });
    var sendButton = el("button", { type: "submit", class: "mw-send", text: TEXT.send });
    var form = el("form", { class: "mw-form", novalidate: "" }, [
      el("label", { for: id + "-input", class: "mw-label", text: TEXT.inputLabel }),
      input,
      el("div", { class: "mw-form-row" }, [counter, sendButton]),
      el("p", { id: id + "-hint", class: "mw-hint", text: TEXT.hint })
    ]);
    var confirm = buildConfirm(id);
    var parts = [header, alertBar];
    if (!signedIn) { parts.push(el("p", { class: "mw-trial", role: "note", text: TEXT.trial }), confirm.box); }
    var panel = el("section", { id: id + "-panel", class: "mw-panel", "aria-labelledby": id + "-title" },
      parts.concat([log, status, form]));
    return { panel: panel, log: log, status: status, input: input, counter: counter, form: form,
      sendButton: sendButton, newButton: newButton, closeButton: closeButton, confirm: confirm };
  }

  /**
   * The question before "Nieuw gesprek" in the trial mode: there the case belongs to this tab's
   * session, so a new conversation leaves it behind for good. Inline (not window.confirm, which an
   * embedding page may block), as an alertdialog so a screen reader reads the warning on focus.
   */
  function buildConfirm(id) {
    var yes = el("button", { type: "button", class: "mw-confirm-yes", text: TEXT.confirmYes });
    var no = el("button", { type: "button", class: "mw-confirm-no", text: TEXT.confirmNo });
    var box = el("div", { id: id + "-confirm", class: "mw-confirm", role: "alertdialog",
      "aria-describedby": id + "-confirm-text", "aria-label": TEXT.newConversation }, [
      el("p", { id: id + "-confirm-text", class: "mw-confirm-text", text: TEXT.confirmNew }),
      el("div", { class: "mw-confirm-row" }, [yes, no])
    ]);
    box.hidden = true;
    return { box: box, yes: yes, no: no };
  }

  /** One chat: DOM + socket. */
  function Chat(config, ui) {
    var sessionKey = "meldwijzer.session@" + config.server;
    var socket = null;

    var pinned = true;  // the log follows new messages unless the user scrolled up to read
    // After a button click the button is gone (choices are retired): focus waits on the log, then goes to
    // the reply that offers the next choices, or else to the message field.
    var focusPending = false;

    function scrollToEnd() { ui.log.scrollTop = ui.log.scrollHeight; pinned = true; }

    function setStatus(text) { ui.status.textContent = text; }

    function addMessage(who, text) {
      var prefix = el("span", { class: "mw-sr", text: who === "bot" ? TEXT.botPrefix : TEXT.userPrefix });
      var body = el("p", { class: "mw-text" }, [linkified(text)]);
      var message = el("div", { class: "mw-msg mw-msg-" + who }, [prefix, body]);
      ui.log.append(message);
      scrollToEnd();
      return message;
    }

    /** Buttons under a bot message; a click sends the payload and shows the title. */
    function addChoices(message, choices) {
      var group = el("div", { class: "mw-choices", role: "group", "aria-label": TEXT.choices });
      choices.forEach(function (choice) {
        if (!choice || typeof choice.title !== "string" || typeof choice.payload !== "string") { return; }
        var button = el("button", { type: "button", class: "mw-choice", text: choice.title });
        button.addEventListener("click", function () {
          if (send(choice.payload, choice.title)) {
            focusPending = true;
            ui.log.focus({ preventScroll: true });
          }
        });
        group.append(button);
      });
      message.append(group);
      scrollToEnd();
    }

    /** Answered choices are retired so an old question is not answered twice by accident. */
    function retireChoices() {
      ui.log.querySelectorAll(".mw-choices").forEach(function (group) { group.remove(); });
    }

    /** Download links (dossier export): only relative URLs, resolved against this chat's own server. */
    function addDownloads(files) {
      var base = config.server + "/chat/";
      var list = el("ul", { class: "mw-downloads", "aria-label": TEXT.downloads });
      files.forEach(function (file) {
        if (!file || typeof file.title !== "string" || typeof file.url !== "string") { return; }
        if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(file.url)) { return; }
        var href = new URL(file.url, base);
        if (href.origin !== new URL(base).origin) { return; }
        // A page (the overview) opens in a new tab; a file (the dossier) is downloaded.
        var link = file.format === "html"
          ? { href: href.href, text: file.title + TEXT.newTab, target: "_blank", class: "mw-download mw-page-link",
            rel: "noopener noreferrer" }
          : { href: href.href, text: file.title, download: "", class: "mw-download", rel: "noopener noreferrer" };
        list.append(el("li", {}, [el("a", link)]));
      });
      if (!list.childElementCount) { return; }
      var message = el("div", { class: "mw-msg mw-msg-bot" },
        [el("span", { class: "mw-sr", text: TEXT.botPrefix }), list]);
      ui.log.append(message);
      scrollToEnd();
    }

    /** A reply may come in several messages; "Meldwijzer schrijft…" stays until the server's turn_end. */
    function onBotUttered(data) {
      if (!data || typeof data !== "object") { return; }
      var attachment = data.attachment;
      if (attachment && attachment.type === "download" && Array.isArray(attachment.files)) {
        addDownloads(attachment.files);
      }
      var choices = [].concat(data.quick_replies || [], data.buttons || []);
      if (typeof data.text !== "string" && !choices.length) { return; }
      var message = addMessage("bot", typeof data.text === "string" ? data.text : "");
      if (choices.length) { addChoices(message, choices); }
      focusReply(message, choices.length > 0);
    }

    /** The reply to a clicked button takes the focus: a reply with choices itself (Tab then reaches
     *  its buttons, a screen reader reads it first), a reply without choices hands it to the input. */
    function focusReply(message, hasChoices) {
      if (!focusPending) { return; }
      if (hasChoices) {
        message.setAttribute("tabindex", "-1");
        message.focus({ preventScroll: true });
        focusPending = false;
      } else {
        ui.input.focus({ preventScroll: true });
      }
    }

    function send(text, shown) {
      if (!socket || !socket.connected) { setStatus(TEXT.notSent); return false; }
      focusPending = false;
      retireChoices();
      addMessage("user", shown);
      setStatus(TEXT.thinking);
      socket.emit("user_uttered", { message: text, session_id: storage.get(sessionKey) });
      return true;
    }

    function updateCounter() {
      var n = ui.input.value.length;
      ui.counter.textContent = TEXT.counter(n);
      ui.counter.classList.toggle("mw-counter-warn", n >= WARN_CHARS);
    }

    function submit() {
      var text = ui.input.value.trim();
      if (!text) { return; }
      if (send(text, text)) { ui.input.value = ""; updateCounter(); }
      ui.input.focus();
    }

    function newConversation() {
      ui.confirm.box.hidden = true;
      storage.remove(sessionKey);
      ui.log.replaceChildren();
      addMessage("bot", TEXT.welcome);
      if (socket && socket.connected) { socket.emit("session_request", { session_id: null }); }
      ui.input.focus();
    }

    function authenticate(callback) {
      var token = config.token;
      Promise.resolve(typeof token === "function" ? token() : token)
        .then(function (value) { callback(value ? { token: value } : {}); })
        .catch(function () { callback({}); });
    }

    function connect(io) {
      socket = io(config.server, { auth: authenticate, path: "/socket.io" });
      socket.on("connect", function () {
        setStatus(TEXT.connected);
        ui.sendButton.disabled = false;
        socket.emit("session_request", { session_id: storage.get(sessionKey) });
      });
      socket.on("session_confirm", function (sessionId) {
        if (typeof sessionId === "string") { storage.set(sessionKey, sessionId); }
      });
      socket.on("bot_uttered", onBotUttered);
      socket.on("turn_end", function () { setStatus(TEXT.connected); });
      socket.on("disconnect", function () { ui.sendButton.disabled = true; setStatus(TEXT.offline); });
      socket.on("connect_error", function () {
        ui.sendButton.disabled = true;
        setStatus(socket.active ? TEXT.offline : TEXT.refused);
      });
    }

    ui.form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    ui.input.addEventListener("input", updateCounter);
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
    });
    function askNewConversation() {
      if (config.token) { newConversation(); return; }
      ui.confirm.box.hidden = false;
      ui.confirm.no.focus();  // the safe choice first
    }

    function cancelNewConversation() {
      ui.confirm.box.hidden = true;
      ui.newButton.focus();
    }

    ui.newButton.addEventListener("click", askNewConversation);
    ui.confirm.yes.addEventListener("click", newConversation);
    ui.confirm.no.addEventListener("click", cancelNewConversation);
    ui.confirm.box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.stopPropagation(); cancelNewConversation(); }
    });
    // A phone's on-screen keyboard or a rotation resizes the log: keep the latest message in view.
    // A resize can also reset the scroll position; that scroll event is not the user reading back.
    var logSize = "";
    function measuredSize() { return ui.log.clientWidth + "x" + ui.log.clientHeight; }
    ui.log.addEventListener("scroll", function () {
      if (measuredSize() !== logSize) { return; }
      pinned = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
    });
    new ResizeObserver(function () {
      logSize = measuredSize();
      if (pinned) { scrollToEnd(); }
    }).observe(ui.log);
    ui.sendButton.disabled = true;
    addMessage("bot", storage.get(sessionKey) ? TEXT.resumed : TEXT.welcome);
    setStatus(TEXT.connecting);
    return { connect: connect };
  }

  /** Launcher mode: a floating button that opens and closes the panel; Escape closes it. */
  function attachLauncher(root, ui, id) {
    var launcher = el("button", { type: "button", class: "mw-launcher", "aria-expanded": "false",
      "aria-controls": id + "-panel", text: TEXT.launcher });
    function setOpen(open) {
      ui.panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      (open ? ui.input : launcher).focus();
    }
    launcher.addEventListener("click", function () { setOpen(ui.panel.hidden); });
    ui.closeButton.addEventListener("click", function () { setOpen(false); });
    ui.panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { setOpen(false); } });
    ui.panel.hidden = true;
    root.append(launcher);
  }

  function start() {
    var config = readConfig();
    var id = "mw" + (instance += 1);
    var ui = buildPanel(id, config.mode, Boolean(config.token));
    var root = el("div", { class: "mw-root mw-mode-" + (config.mode === "page" ? "page" : "launcher"), lang: "nl" });
    root.append(ui.panel);
    if (config.mode === "page") {
      (document.getElementById("meldwijzer") || document.body).append(root);
    } else {
      attachLauncher(root, ui, id);
      document.body.append(root);
    }
    loadStylesheet(config.assets + "widget.css");
    var chat = Chat(config, ui);
    loadSocketIo(config.assets + "vendor/socket.io.min.js").then(chat.connect, function () {
      ui.status.textContent = TEXT.offline;
    });
  }

  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
}());
