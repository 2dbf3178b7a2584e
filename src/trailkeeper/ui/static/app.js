// trailkeeper web UI: live filters in the URL, rows that expand in place, paging,
// pickers filled from the facets, keyboard moves. Every page works without it.
"use strict";
(function () {
  document.documentElement.classList.add("js");

  function fetchFragment(url, mode) {
    document.body.classList.add("loading");
    return fetch(url, { headers: { "X-TK-Fragment": mode || "1" }, credentials: "same-origin" })
      .then(function (response) {
        const signin = response.headers.get("X-TK-Signin");
        if (response.status === 401 && signin) {
          window.location.assign(signin);
          return new Promise(function () {});
        }
        return response.text();
      })
      .finally(function () { document.body.classList.remove("loading"); });
  }

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html;  // server-rendered, escaped HTML of this origin
    return template.content;
  }

  // -- filters --------------------------------------------------------------------
  const form = document.getElementById("filters");
  const results = document.getElementById("results");
  let timer = null;
  let generation = 0;

  function queryOf(formElement) {
    const params = new URLSearchParams();
    new FormData(formElement).forEach(function (value, key) {
      if (value !== "") params.append(key, value);
    });
    return params.toString();
  }

  function load(url) {
    const mine = ++generation;
    return fetchFragment(url).then(function (html) {
      if (mine !== generation) return;  // a newer filter change won
      results.innerHTML = "";
      results.appendChild(parse(html));
      const clear = form.querySelector(".clear");
      if (clear) clear.hidden = new URL(url, location.href).search === "";
      form.querySelectorAll(".picker-options").forEach(function (o) { o.dataset.loaded = ""; });
    });
  }

  function apply() {
    const query = queryOf(form);
    const url = "/" + (query ? "?" + query : "");
    if (url !== location.pathname + location.search) history.pushState(null, "", url);
    load(url);
  }

  function syncForm() {
    const params = new URLSearchParams(location.search);
    form.querySelectorAll("input").forEach(function (input) {
      if (input.type === "checkbox") {
        input.checked = params.getAll(input.name).indexOf(input.value) >= 0;
      } else if (input.type !== "hidden") {
        input.value = params.get(input.name) || "";
      }
    });
  }

  if (form && results) {
    form.addEventListener("change", function (event) {
      if (event.target.matches("input[type=search], #resource_type, #resource_id")) return;
      apply();
    });
    form.addEventListener("input", function (event) {
      if (!event.target.matches("input[type=search], #resource_type, #resource_id")) return;
      clearTimeout(timer);
      timer = setTimeout(apply, 350);
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
    form.addEventListener("click", function (event) {
      const link = event.target.closest("a.option, a.clear");
      if (!link) return;
      event.preventDefault();
      history.pushState(null, "", link.getAttribute("href"));
      syncForm();
      form.querySelectorAll("details[open]").forEach(function (d) { d.open = false; });
      load(location.href);
    });
    window.addEventListener("popstate", function () { syncForm(); load(location.href); });
    form.querySelectorAll("details.picker").forEach(function (details) {
      details.addEventListener("toggle", function () {
        const box = details.querySelector(".picker-options");
        if (!details.open || !box || box.dataset.loaded === "1") return;
        box.dataset.loaded = "1";
        const query = queryOf(form);
        fetchFragment(box.dataset.src + (query ? "?" + query : "")).then(function (html) {
          box.innerHTML = "";
          box.appendChild(parse(html));
        });
      });
    });
  }

  // -- rows: expand in place, paging ---------------------------------------------
  function toggle(row) {
    const link = row.querySelector("a.expand");
    const next = row.nextElementSibling;
    if (next && next.classList.contains("detail")) {
      next.remove();
      link.setAttribute("aria-expanded", "false");
      return;
    }
    fetchFragment(link.getAttribute("href")).then(function (html) {
      const fragment = parse(html);
      row.after(fragment);
      link.setAttribute("aria-expanded", "true");
    });
  }

  document.addEventListener("click", function (event) {
    const expand = event.target.closest("tr.event a.expand");
    if (expand && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      toggle(expand.closest("tr"));
      return;
    }
    const older = event.target.closest("a.older");
    if (older) {
      event.preventDefault();
      fetchFragment(older.getAttribute("href"), "rows").then(function (html) {
        const fragment = parse(html);
        const rows = document.getElementById("rows");
        fragment.querySelectorAll("tr.event").forEach(function (tr) { rows.appendChild(tr); });
        const pager = document.getElementById("pager");
        pager.replaceWith(fragment.querySelector("#pager"));
      });
      return;
    }
    const copy = event.target.closest("button.copy");
    if (copy) {
      const input = document.getElementById(copy.dataset.copy);
      input.select();
      navigator.clipboard.writeText(input.value).then(function () { copy.textContent = "Copied"; });
    }
  });

  // -- keyboard: j/k move, Enter expands, / searches, Esc closes -------------------
  function current() { return document.querySelector("tr.event.current"); }
  function move(step) {
    const rows = Array.prototype.slice.call(document.querySelectorAll("tr.event"));
    if (!rows.length) return;
    const at = rows.indexOf(current());
    const target = rows[Math.max(0, Math.min(rows.length - 1, at + step))];
    rows.forEach(function (r) { r.classList.remove("current"); });
    target.classList.add("current");
    target.querySelector("a.expand").focus();
  }
  document.addEventListener("keydown", function (event) {
    const typing = event.target.matches("input, select, textarea");
    if (event.key === "Escape") {
      document.querySelectorAll("details.picker[open]").forEach(function (d) { d.open = false; });
      const row = current();
      if (row && row.nextElementSibling && row.nextElementSibling.classList.contains("detail")) toggle(row);
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/") {
      const search = document.getElementById("q");
      if (search) { event.preventDefault(); search.focus(); }
    } else if (event.key === "j") {
      move(1);
    } else if (event.key === "k") {
      move(-1);
    }
  });

  // -- exports and erasures: refresh while the workers are at them --------------------------------
  if (document.querySelector("[data-pending]")) {
    setTimeout(function () { location.reload(); }, 3000);
  }
})();
