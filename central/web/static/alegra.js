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

// Case files: the referral form shows only the fields of the chosen kind (internal/external).
function enhanceReferral(form) {
  const update = () => {
    const chosen = form.querySelector("input[name=ref_kind]:checked");
    const kind = chosen ? chosen.value : "";
    form.querySelectorAll("[data-kind]").forEach((box) => {
      box.hidden = box.dataset.kind !== kind;
    });
  };
  form.querySelectorAll("input[name=ref_kind]").forEach((radio) => radio.addEventListener("change", update));
  update();
}

// Registration forms: "Consultar RENIEC" fills names, birth date and sex from a DNI (through
// central's configured adapter; nothing leaves the sede's network). The person checks them.
function enhanceReniec(form) {
  const button = form.querySelector("button[data-reniec]");
  const docType = form.querySelector("#f-doc_type");
  const number = form.querySelector("#f-doc_number");
  const status = form.querySelector("#reniec-status");
  if (!button || !number || !status) return;
  const toggle = () => {
    button.hidden = docType && docType.value !== "dni";
  };
  if (docType) docType.addEventListener("change", toggle);
  toggle();
  const say = (text, kind) => {
    status.textContent = text;
    status.className = "reniec-status wide reniec-" + kind;
    status.hidden = !text;
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    say("Consultando RENIEC…", "info");
    try {
      const url = button.dataset.reniec + "?dni=" + encodeURIComponent(number.value.trim());
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const data = await response.json();
      if (data.status === "found") {
        const set = (id, value) => {
          const input = form.querySelector(id);
          if (input && value) input.value = value;
        };
        set("#f-given_names", data.given_names);
        set("#f-surnames", data.surnames);
        set("#f-birth_date", data.birth_date);
        set("#f-sex", data.sex);
        number.value = data.dni;
      }
      let text = data.message || "No se pudo consultar RENIEC.";
      if (data.registered_citizen_id) text += " Esta persona ya está registrada: se usará su registro.";
      say(text, data.status === "found" ? "ok" : "warn");
    } catch (error) {
      say("No se pudo consultar RENIEC. Registre los datos que declara la persona.", "warn");
    } finally {
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-referral-form]").forEach(enhanceReferral);
  document.querySelectorAll("form[data-citizen-form]").forEach(enhanceReniec);
});

// A refused form far down a long page: bring its message into view.
document.addEventListener("DOMContentLoaded", () => {
  const target =
    document.querySelector("[data-scroll-here]") ||
    document.querySelector("form[data-scroll-errors] .field-error");
  if (target) target.scrollIntoView({ block: "center" });
});
