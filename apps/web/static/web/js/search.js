/* Search page enhancements: autocomplete (ARIA combobox), auto-submitting selects, narrow-screen filters. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Selects that submit their form when changed (the form keeps a button for use without JavaScript).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Filters fold away on narrow screens (they stay open without JavaScript).
  var panel = document.querySelector("[data-collapse-narrow]");
  if (panel && window.matchMedia("(max-width: 900px)").matches) { panel.open = false; }
  if (panel) {
    panel.querySelector("summary").addEventListener("click", function (event) {
      if (!window.matchMedia("(max-width: 900px)").matches) { event.preventDefault(); }
    });
  }

  var input = document.getElementById("q");
  if (!input || !input.dataset.suggestUrl) { return; }
  var list = document.getElementById(input.getAttribute("aria-controls"));
  var items = [];
  var active = -1;
  var timer = null;
  var latest = 0;
  var KIND = { study: { nb: "Studie", en: "Study" }, researcher: { nb: "Forsker", en: "Researcher" },
               topic: { nb: "Tema", en: "Topic" } };
  var lang = document.documentElement.lang === "en" ? "en" : "nb";

  function close() {
    list.hidden = true;
    list.innerHTML = "";
    items = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function hrefFor(s) {
    if (s.kind === "study") { return input.dataset.studyUrl.replace("/0/", "/" + s.id + "/"); }
    if (s.kind === "researcher") { return input.dataset.researcherUrl.replace("/0/", "/" + s.id + "/"); }
    return input.dataset.topicUrl + encodeURIComponent(s.id);
  }

  function show(suggestions) {
    list.innerHTML = "";
    items = suggestions.slice(0, 12);
    if (!items.length) { close(); return; }
    items.forEach(function (s, i) {
      var li = document.createElement("li");
      li.id = "q-option-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      var kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = (KIND[s.kind] || {})[lang] || s.kind;
      var text = document.createElement("span");
      text.textContent = s.text;
      li.appendChild(kind);
      li.appendChild(text);
      li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function highlight(i) {
    var options = list.querySelectorAll("[role=option]");
    options.forEach(function (o) { o.setAttribute("aria-selected", "false"); });
    active = i;
    if (i >= 0 && options[i]) {
      options[i].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[i].id);
      options[i].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(i) {
    var s = items[i];
    if (!s) { return; }
    window.location.href = hrefFor(s);
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    var value = input.value.trim();
    if (value.length < 2) { close(); return; }
    timer = setTimeout(function () {
      var ticket = ++latest;
      fetch(input.dataset.suggestUrl + "?size=6&q=" + encodeURIComponent(value), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) { if (ticket === latest && document.activeElement === input) { show(data.suggestions || []); } })
        .catch(function () { close(); });
    }, 150);
  });

  input.addEventListener("keydown", function (event) {
    if (list.hidden) {
      if (event.key === "ArrowDown" && items.length) { list.hidden = false; }
      return;
    }
    if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % items.length); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active <= 0 ? items.length - 1 : active - 1); }
    else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(active); }
    else if (event.key === "Escape") { event.preventDefault(); close(); }
  });
  input.addEventListener("blur", function () { setTimeout(close, 100); });
})();
