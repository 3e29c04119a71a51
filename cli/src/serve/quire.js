// quire serve: title suggestions as you type, from /-/api/NAME/suggest.
(function () {
  "use strict";
  document.querySelectorAll("form.search[data-archive]").forEach(function (form) {
    if (form.dataset.suggest !== "1") return;
    var input = form.querySelector("input[name=q]");
    var list = form.querySelector(".suggestions");
    var timer = null, asked = 0, active = -1;
    // An entry without a title by its key's last name: "blog/café-zürich.html" as
    // "café zürich".
    function label(key) {
      var name = key.replace(/\/(index\.html?)?$/, "").split("/").pop() || key;
      name = name.replace(/\.[A-Za-z0-9]{1,5}$/, "").replace(/[-_]+/g, " ").trim();
      return name || key;
    }
    function hide() { list.hidden = true; list.innerHTML = ""; active = -1; }
    function show(items) {
      list.innerHTML = "";
      items.forEach(function (s) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = s.url;
        a.textContent = s.title || label(s.key);
        var key = document.createElement("small");
        key.textContent = s.key;
        a.appendChild(key);
        li.appendChild(a);
        list.appendChild(li);
      });
      active = -1;
      list.hidden = items.length === 0;
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { hide(); return; }
      timer = setTimeout(function () {
        var mine = ++asked;
        var url = "/-/api/" + form.dataset.archive + "/suggest?limit=8&q=" + encodeURIComponent(q);
        fetch(url)
          .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
          .then(function (d) { if (mine === asked) show(d.suggestions || []); })
          .catch(hide);
      }, 100);
    });
    input.addEventListener("keydown", function (e) {
      var links = list.querySelectorAll("a");
      if (list.hidden || links.length === 0) return;
      if (e.key === "ArrowDown") active = Math.min(active + 1, links.length - 1);
      else if (e.key === "ArrowUp") active = Math.max(active - 1, -1);
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); location.href = links[active].href; return; }
      else if (e.key === "Escape") { hide(); return; }
      else return;
      e.preventDefault();
      links.forEach(function (a, i) { a.classList.toggle("active", i === active); });
    });
    document.addEventListener("click", function (e) { if (!form.contains(e.target)) hide(); });
  });
})();
