// The recipient's side of a share-once link: /ui/share#<id>.<key>.
// The key never leaves this browser: it derives the claim proof (SHA-256) and opens the
// sealed copy with AES-256-GCM (WebCrypto). See strongroom/crypto/share.py for the format.
"use strict";
(function () {
  const LABEL = new TextEncoder().encode("strongroom-share-claim\0");

  function fromBase64Url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function open(id, key) {
    const proof = hex(await crypto.subtle.digest("SHA-256", new Uint8Array([...LABEL, ...key])));
    const response = await fetch("/ui/share/claim", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content,
      },
      body: JSON.stringify({ id, proof }),
      cache: "no-store",
      credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.detail || "the link could not be opened");
    const sealed = Uint8Array.from(atob(data.sealed), (c) => c.charCodeAt(0));
    const aesKey = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: sealed.slice(0, 12), additionalData: new TextEncoder().encode(`strongroom-share:${id}`) },
      aesKey,
      sealed.slice(12),
    );
    return JSON.parse(new TextDecoder().decode(plain));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const status = document.getElementById("share-status");
    const button = document.getElementById("share-open");
    const fragment = location.hash.slice(1);
    // The key leaves the address bar and the history entry at once.
    history.replaceState(null, "", location.pathname);
    const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(fragment);
    if (!match) {
      status.textContent = "This link is incomplete: copy the whole link, including the part after #.";
      button.disabled = true;
      return;
    }
    const [, id, key] = match;
    let text = null;
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = "Opening…";
      try {
        const value = await open(id, fromBase64Url(key));
        text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
        document.getElementById("share-text").textContent = text;
        document.getElementById("share-value").hidden = false;
        document.getElementById("share-intro").hidden = true;
        status.textContent = "This is the only time this value is shown: the link no longer works.";
      } catch (error) {
        status.textContent = error.message;
      }
    });
    document.getElementById("share-copy").addEventListener("click", async () => {
      if (text !== null) await navigator.clipboard.writeText(text);
    });
    window.addEventListener("pagehide", () => {
      text = null;
      document.getElementById("share-text").textContent = "";
    });
  });
})();
