// Today page refresher: polls the JSON endpoint and writes numbers with textContent only.
(function () {
  "use strict";
  var root = document.getElementById("today");
  if (!root) { return; }
  var every = parseInt(root.dataset.refresh, 10) * 1000;

  function apply(data) {
    if (data.locations.join(",") !== root.dataset.locations) {
      window.location.reload();  // a clinic appeared or went: redraw the table
      return;
    }
    root.querySelectorAll("[data-field]").forEach(function (el) {
      var key = el.dataset.field;
      if (!(key in data.fields)) { return; }
      if (el.tagName === "PROGRESS") { el.value = data.fields[key]; }
      else { el.textContent = data.fields[key]; }
    });
    // The window charts: only their points move, the server drew the rest.
    root.querySelectorAll("[data-points]").forEach(function (el) {
      if (el.dataset.points in data.fields) { el.setAttribute("points", data.fields[el.dataset.points]); }
    });
    root.querySelectorAll("[data-x]").forEach(function (el) {
      if (el.dataset.x in data.fields) {
        el.setAttribute("x1", data.fields[el.dataset.x]);
        el.setAttribute("x2", data.fields[el.dataset.x]);
      }
    });
    var list = document.getElementById("alerts-list");
    list.replaceChildren.apply(list, data.alerts.map(function (alert) {
      var item = document.createElement("li");
      item.textContent = alert.kind + ": " + alert.summary + " (" + alert.count + ")";
      return item;
    }));
    root.dataset.refreshed = String(Date.now());
  }

  function poll() {
    fetch(root.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { apply(data); } })
      .catch(function () { /* offline for a moment: try again next round */ })
      .then(function () { window.setTimeout(poll, every); });
  }
  window.setTimeout(poll, every);
})();
