// strongroom web interface: the few things plain HTML forms cannot do.
// Revealed values live only in the page (never in storage) and leave it on navigation.
"use strict";
(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  async function reveal(secretId, version) {
    const body = new URLSearchParams();
    if (version) body.set("version", version);
    const response = await fetch(`/ui/secrets/${secretId}/reveal`, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf() },
      body,
      cache: "no-store",
      credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.detail || "the value could not be read");
    return data;
  }

  function asText(value) {
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }

  function show(out, value) {
    out.replaceChildren();
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const table = document.createElement("table");
      table.className = "pairs";
      const tbody = table.createTBody();
      for (const [key, item] of Object.entries(value)) {
        const row = tbody.insertRow();
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = key;
        row.appendChild(th);
        const code = document.createElement("code");
        code.className = "secret-value";
        code.textContent = typeof item === "string" ? item : JSON.stringify(item);
        row.insertCell().appendChild(code);
      }
      out.appendChild(table);
    } else {
      const pre = document.createElement("pre");
      pre.className = "secret-value";
      pre.textContent = asText(value);
      out.appendChild(pre);
    }
  }

  function mask(out) {
    out.replaceChildren();
    const span = document.createElement("span");
    span.className = "masked";
    span.setAttribute("aria-label", "hidden value");
    span.textContent = "••••••••••••";
    out.appendChild(span);
  }

  function report(out, error) {
    out.replaceChildren();
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = error.message;
    out.appendChild(p);
  }

  function setUpValue(box) {
    const out = box.querySelector("#value-out");
    const form = box.querySelector(".js-reveal");
    const copy = box.querySelector(".js-copy");
    const hide = box.querySelector(".js-hide");
    let current = null;
    copy.hidden = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        current = (await reveal(box.dataset.secret)).value;
        show(out, current);
        hide.hidden = false;
      } catch (error) {
        report(out, error);
      }
    });
    hide.addEventListener("click", () => {
      current = null;
      mask(out);
      hide.hidden = true;
    });
    copy.addEventListener("click", async () => {
      try {
        const value = current !== null ? current : (await reveal(box.dataset.secret)).value;
        await navigator.clipboard.writeText(asText(value));
        copy.textContent = "Copied";
        setTimeout(() => { copy.textContent = "Copy to clipboard"; }, 2000);
      } catch (error) {
        report(out, error);
      }
    });
    // Leaving the page: nothing revealed stays in it (the back/forward cache keeps pages).
    window.addEventListener("pagehide", () => { current = null; mask(out); hide.hidden = true; });
  }

  function addPairRow(table) {
    const tbody = table.tBodies[0];
    const index = tbody.rows.length + 1;
    const row = tbody.insertRow();
    for (const [name, label] of [["pair_key", "Key"], ["pair_value", "Value"]]) {
      const cell = row.insertCell();
      const id = `${name === "pair_key" ? "pk" : "pv"}${index}`;
      const lab = document.createElement("label");
      lab.className = "sr-only";
      lab.htmlFor = id;
      lab.textContent = `${label} ${index}`;
      const input = document.createElement("input");
      input.id = id;
      input.name = name;
      input.autocomplete = "off";
      cell.append(lab, input);
    }
    return row;
  }

  function setUpForm(form) {
    const table = form.querySelector(".pairs-edit");
    const add = form.querySelector(".js-add-pair");
    if (add && table) add.addEventListener("click", () => addPairRow(table).cells[0].querySelector("input").focus());
    const load = form.querySelector(".js-load");
    if (load) {
      load.addEventListener("click", async () => {
        try {
          const { value } = await reveal(form.dataset.secret);
          if (typeof value === "string") {
            form.querySelector("#kind-text").checked = true;
            form.querySelector("#value").value = value;
          } else {
            form.querySelector("#kind-pairs").checked = true;
            const tbody = table.tBodies[0];
            tbody.replaceChildren();
            for (const [key, item] of Object.entries(value)) {
              const row = addPairRow(table);
              row.cells[0].querySelector("input").value = key;
              row.cells[1].querySelector("input").value = asText(item);
            }
            addPairRow(table);
          }
          load.textContent = "Current value loaded";
          load.disabled = true;
        } catch (error) {
          load.textContent = error.message;
        }
      });
    }
    window.addEventListener("pagehide", () => {
      for (const field of form.querySelectorAll("#value, input[name=pair_value]")) field.value = "";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const box of document.querySelectorAll(".value[data-secret]")) setUpValue(box);
    for (const form of document.querySelectorAll("form[data-secret], form[action='/ui/secrets/new']")) setUpForm(form);
    for (const button of document.querySelectorAll(".js-copy-field")) {
      button.addEventListener("click", async () => {
        await navigator.clipboard.writeText(document.getElementById(button.dataset.field).value);
        button.textContent = "Copied";
      });
    }
  });
})();
