// Live console: the queue and the open case refresh on server-sent events; a new or
// re-announced emergency raises a banner (and a sound, where the browser allows it).
(function () {
  "use strict";
  var body = document.body;
  if (!body.dataset.user || typeof EventSource === "undefined") { return; }
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

  function announce(text, ev) {
    alertBox.textContent = text + (ev.case_id ? ": " + ev.case_id : "") +
      (ev.summary ? " - " + ev.summary : "");
    alertBox.hidden = false;
    document.title = "(!) " + title;
    beep();
  }

  alertBox.addEventListener("click", function () {
    alertBox.hidden = true;
    document.title = title;
  });

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
