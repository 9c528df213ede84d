// Seal status and unseal, over the node's public API (issue 21's interface):
// GET /api/v1/sys/seal-status, POST /api/v1/sys/unseal {"key"} | {"reset": true}.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);

  function render(status) {
    $("seal-state").textContent = status.initialized === false ? "Not initialised" : status.sealed ? "Sealed" : "Unsealed";
    if (status.type) $("seal-type").textContent = status.type;
    if (typeof status.t === "number" && typeof status.n === "number") {
      $("seal-progress").textContent = `${status.progress || 0} of ${status.t} key shares (threshold ${status.t} of ${status.n})`;
    } else {
      $("seal-progress").textContent = status.sealed ? "waiting for the key" : "—";
    }
    if (status.version) $("seal-version").textContent = status.version;
    if (status.cluster_name) $("seal-cluster").textContent = status.cluster_name;
    $("unseal-form").hidden = !status.sealed;
  }

  async function load() {
    let response = await fetch("/api/v1/sys/seal-status", { cache: "no-store" });
    if (response.status === 404 || response.status === 405) {
      response = await fetch("/api/v1/sys/health", { cache: "no-store" });
    }
    render(await response.json());
  }

  async function send(body) {
    const response = await fetch("/api/v1/sys/unseal", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.detail || "the node refused the key");
    return data;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const message = $("seal-message");
    load().catch((error) => { message.textContent = error.message; });
    $("unseal-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = $("unseal-key");
      try {
        const status = await send({ key: field.value });
        field.value = "";
        if (status.sealed === false) {
          message.textContent = "Unsealed.";
        } else {
          message.textContent = "Key share accepted.";
        }
        await load();
      } catch (error) {
        field.value = "";
        message.textContent = error.message;
        await load();
      }
    });
    $("unseal-reset").addEventListener("click", async () => {
      try {
        await send({ reset: true });
        message.textContent = "Progress reset.";
      } catch (error) {
        message.textContent = error.message;
      }
      await load();
    });
  });
})();
