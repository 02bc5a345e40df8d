// Live console: the queue and the open case refresh on server-sent events; a new or
// re-announced emergency raises a banner (and a sound, where the browser allows it).
(function () {
  "use strict";
  var body = document.body;
  if (!body.dataset.user) { return; }
  var alertBox = document.getElementById("alert");
  var caseId = body.dataset.case;
  var title = document.title;

  // One refresh of a part at a time; events that come in meanwhile ask for one more
  // after it (a burst of events costs two fetches, not one per event).
  var busy = {}, again = {};
  function refresh(id) {
    var el = document.getElementById(id);
    if (!el || !el.dataset.refresh) { return; }
    if (busy[id]) { again[id] = true; return; }
    busy[id] = true;
    fetch(el.dataset.refresh, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { el.innerHTML = html; } })
      .catch(function () {})
      .then(function () {
        busy[id] = false;
        if (again[id]) { again[id] = false; refresh(id); }
      });
  }

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.3);
    } catch (e) { /* sound is a bonus */ }
  }

  // Who waits unclaimed, as the live events told: case id -> what to say. The banner
  // shows one as a link with a Claim button, several as one line ("3 emergencies
  // unclaimed") with "Take the next"; a claim anywhere takes the case off it.
  var pending = {};
  var dismissed = false;

  function csrf() {
    var field = document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function postButton(action, label, id) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = action;
    form.className = "inline";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrf();
    var button = document.createElement("button");
    button.type = "submit";
    button.id = id;
    button.textContent = label;
    form.appendChild(token);
    form.appendChild(button);
    return form;
  }

  function draw() {
    var ids = Object.keys(pending);
    alertBox.textContent = "";
    if (!ids.length || dismissed) {
      alertBox.hidden = true;
      document.title = title;
      return;
    }
    var link = document.createElement("a");
    if (ids.length === 1) {
      var one = pending[ids[0]];
      link.href = "/console/cases/" + ids[0];
      link.textContent = one.text + ": " + ids[0] + (one.summary ? " - " + one.summary : "");
      alertBox.appendChild(link);
      alertBox.appendChild(postButton("/console/cases/" + ids[0] + "/claim", body.dataset.msgClaim, "alert-claim"));
    } else {
      var critical = ids.filter(function (id) { return pending[id].critical; }).length;
      link.href = "/console/queue";
      link.textContent = (critical === ids.length ? body.dataset.msgManyEmergencies : body.dataset.msgManyWaiting)
        .replace("{n}", String(ids.length));
      alertBox.appendChild(link);
      alertBox.appendChild(postButton("/console/queue/next", body.dataset.msgNext, "alert-next"));
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link alert-close";
    close.textContent = body.dataset.msgDismiss;
    close.addEventListener("click", function () { dismissed = true; draw(); });
    alertBox.appendChild(close);
    alertBox.hidden = false;
    document.title = "(" + ids.length + ") " + title;
  }

  function announce(text, ev) {
    if (!ev.case_id) { return; }
    pending[ev.case_id] = {
      text: text,
      summary: ev.summary || "",
      critical: ev.priority === "critical" || !ev.priority
    };
    dismissed = false;
    draw();
    beep();
  }

  function settled(ev) {
    if (ev.case_id && pending[ev.case_id] &&
        ["claimed", "done", "transferred"].indexOf(ev.action) >= 0) {
      delete pending[ev.case_id];
      draw();
    }
  }

  // Inserting a canned reply (by its name, Alt+/ to get there) or a knowledge-base
  // answer into the reply box, at the cursor.
  var replyBox = document.getElementById("reply-text");
  // Where the operator's cursor was in the reply box when they went to pick something.
  var caret = null;
  if (replyBox) {
    replyBox.addEventListener("blur", function () {
      caret = [replyBox.selectionStart, replyBox.selectionEnd];
    });
  }
  function insert(text) {
    if (!replyBox || !text) { return; }
    var at = caret ? caret[0] : replyBox.value.length, end = caret ? caret[1] : at;
    replyBox.value = replyBox.value.slice(0, at) + text + replyBox.value.slice(end);
    caret = null;
    replyBox.focus();
    replyBox.selectionStart = replyBox.selectionEnd = at + text.length;
  }
  var pick = document.getElementById("canned-pick");
  function pickCanned() {
    var name = pick.value.trim();
    pick.value = "";
    var found = document.querySelector('.canned-text[data-name="' + CSS.escape(name) + '"]');
    if (found) { insert(found.textContent); }
  }
  if (pick) {
    pick.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); pickCanned(); }
    });
    // A suggestion chosen from the list with the mouse.
    pick.addEventListener("input", function (e) {
      if (!e.inputType || e.inputType === "insertReplacementText") { pickCanned(); }
    });
  }
  var kbPick = document.getElementById("kb-insert");
  if (kbPick) {
    kbPick.addEventListener("change", function () {
      var found = document.querySelector('.kb-text[data-index="' + kbPick.value + '"]');
      if (found) { insert(found.textContent); }
      kbPick.value = "";
    });
  }

  // Keyboard: n takes the next, c claims the open case, q goes to the queue (not while
  // typing); Ctrl+Enter (or Cmd+Enter) in the reply box sends it.
  document.addEventListener("keydown", function (e) {
    var target = e.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" ||
      target.tagName === "SELECT" || target.isContentEditable);
    if (e.key === "/" && e.altKey && pick) {
      e.preventDefault();
      pick.focus();
      return;
    }
    if (typing) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && target.form && target.form.id === "reply-form") {
        e.preventDefault();
        target.form.requestSubmit();
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (e.key === "n") {
      var next = postButton("/console/queue/next", "", "key-next");
      next.hidden = true;
      document.body.appendChild(next);
      next.requestSubmit();
    } else if (e.key === "c") {
      var claim = document.getElementById("claim");
      if (claim) { claim.click(); }
    } else if (e.key === "q") {
      window.location.href = "/console/queue";
    }
  });

  if (typeof EventSource === "undefined") { return; }
  var source = new EventSource("/console/events");
  source.addEventListener("ready", function () {
    body.classList.remove("offline");
    refresh("queue");
    if (caseId) { refresh("timeline"); }
  });
  source.addEventListener("helpline", function (e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (err) { return; }
    if (ev.type === "escalation" || ev.type === "queue" || ev.type === "supervisor") {
      refresh("queue");
    }
    if (ev.type === "queue") { settled(ev); }
    if (caseId && ev.case_id === caseId) { refresh("timeline"); }
    var marks = ev.marks || [];
    if (ev.type === "escalation" && ev.priority === "critical" &&
        (ev.outcome === "added" || ev.outcome === "raised")) {
      announce(marks.indexOf("watched") >= 0 ? body.dataset.msgWatched : body.dataset.msgEmergency, ev);
    } else if (ev.type === "escalation" && ev.outcome === "announced") {
      var text = {
        not_safe: body.dataset.msgNotSafe,
        watched: body.dataset.msgWatched,
        waiting_limit: body.dataset.msgLimit
      }[ev.reason] || body.dataset.msgAgain;
      announce(text, ev);
    } else if (ev.type === "supervisor" && body.dataset.supervisor) {
      announce({
        not_safe: body.dataset.msgSupervisorNotSafe,
        waiting_limit: body.dataset.msgSupervisorLimit
      }[ev.reason] || body.dataset.msgSupervisor, ev);
    }
  });
  source.addEventListener("error", function () { body.classList.add("offline"); });
})();
