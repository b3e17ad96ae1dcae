// ALEGRA central web UI: small progressive enhancements; every page also works without them.
"use strict";

// Sign-in: check the password first and reveal the second-factor step in place, so that the
// password typed by the person never leaves the browser's field (no re-typing, no echo).
function enhanceSignIn(form) {
  const totp = form.querySelector(".signin-totp");
  const button = form.querySelector("button[type=submit]");
  let box = form.querySelector("[data-signin-message]");
  if (!box) {
    box = document.createElement("div");
    box.className = "alert";
    box.setAttribute("role", "alert");
    box.hidden = true;
    box.dataset.signinMessage = "";
    form.prepend(box);
  }
  const show = (text, info) => {
    document.querySelectorAll("main > .alert, main > .notice").forEach((el) => el.remove());
    box.className = info ? "alert alert-info" : "alert";
    box.textContent = text;
    box.hidden = !text;
  };
  form.addEventListener("submit", async (event) => {
    if (form.dataset.step === "totp" && !totp.hidden) return; // full post with the code
    event.preventDefault();
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-Requested-With": "fetch", Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json();
      if (data.redirect) {
        window.location.assign(data.redirect);
        return;
      }
      if (data.step === "totp") {
        form.dataset.step = "totp";
        totp.hidden = false;
        button.textContent = "Verificar e ingresar";
        show(data.message || "", true);
        const code = totp.querySelector("input");
        code.value = "";
        code.focus();
      } else {
        show(data.message || "No se pudo ingresar.");
        const password = form.querySelector("input[name=password]");
        password.value = "";
        password.focus();
      }
    } catch (error) {
      form.submit();
    } finally {
      button.disabled = false;
    }
  });
}

// Forms that change something important ask first.
function enhanceConfirm(form) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

// "Copy" buttons (the one-time enrollment code).
function enhanceCopy(button) {
  button.addEventListener("click", async () => {
    const source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copiado";
  });
}

// User form: only the reference that the chosen scope needs is shown.
function enhanceScope(form) {
  const sede = form.querySelector("#f-sede_id");
  const district = form.querySelector("#f-district_id");
  if (!sede || !district) return;
  const update = () => {
    const chosen = form.querySelector("input[name=scope_kind]:checked");
    const kind = chosen ? chosen.value : "";
    sede.closest(".field").hidden = kind !== "sede";
    district.closest(".field").hidden = kind !== "district";
  };
  form.querySelectorAll("input[name=scope_kind]").forEach((radio) => radio.addEventListener("change", update));
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-signin]").forEach(enhanceSignIn);
  document.querySelectorAll("form[data-confirm]").forEach(enhanceConfirm);
  document.querySelectorAll("button[data-copy]").forEach(enhanceCopy);
  document.querySelectorAll("form").forEach((form) => {
    if (form.querySelector("input[name=scope_kind]")) enhanceScope(form);
  });
});
