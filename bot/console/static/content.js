// Live preview of an answer as the chat will show it, with its length against the limits.
(function () {
  "use strict";
  var form = document.getElementById("answer-form");
  if (!form) { return; }
  var text = document.getElementById("text");
  var preview = document.getElementById("preview");
  var length = document.getElementById("length");
  var problem = document.getElementById("preview-problem");
  var csrf = form.querySelector('input[name="csrf_token"]').value;
  var timer = null;

  function show(data) {
    preview.textContent = data.text;          // text, never markup
    length.textContent = length.dataset.template
      .replace("{n}", data.length)
      .replace("{chat}", data.limits.chat)
      .replace("{whatsapp}", data.limits.whatsapp);
    length.classList.toggle("error", data.length > data.limits.whatsapp);
    problem.textContent = data.problem || "";
  }

  function refresh() {
    fetch("/console/content/preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ text: text.value, country: form.dataset.country, lang: form.dataset.lang })
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () {});
  }

  text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
  refresh();
})();
