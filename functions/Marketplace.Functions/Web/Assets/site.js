// Enhancements only: every page works without this script.
"use strict";
(function () {
  // Copy buttons: shown only when the clipboard can be written.
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 1500);
      }, function () { button.textContent = "Copy failed"; });
    });
  });

  // Suggestions as you type: package names from the search API, into the box's datalist.
  document.querySelectorAll("input[type=search][list]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list || !window.fetch) return;
    var timer = 0, last = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2 || q === last) return;
      timer = setTimeout(function () {
        last = q;
        fetch("/v1/search?limit=8&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { hits: [] }; })
          .then(function (result) {
            while (list.firstChild) list.removeChild(list.firstChild);
            (result.hits || []).forEach(function (hit) {
              var option = document.createElement("option");
              option.value = hit.name;
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are optional */ });
      }, 150);
    });
  });
})();
