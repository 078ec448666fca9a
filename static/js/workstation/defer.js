// F5 deferral dialog: one of the five reasons (text required for "autre"); resolves {reason, text} or null.

export function askDeferral(dialog, strings) {
  const form = dialog.querySelector("form");
  const error = dialog.querySelector("[data-role=defer-error]");
  form.reset();
  error.textContent = "";
  dialog.returnValue = "";
  dialog.showModal();
  dialog.querySelector("input[name=reason]")?.focus();
  return new Promise((resolve) => {
    const onSubmit = (event) => {
      const submitter = event.submitter;
      if (submitter && submitter.value === "cancel") return; // method=dialog closes it
      const data = new FormData(form);
      const reason = String(data.get("reason") || "");
      const text = String(data.get("text") || "").trim();
      if (!reason) error.textContent = strings.deferNeedReason;
      else if (reason === "OTHER" && !text) error.textContent = strings.deferNeedText;
      else return; // valid: the dialog closes with returnValue "ok"
      event.preventDefault();
    };
    const onClose = () => {
      form.removeEventListener("submit", onSubmit);
      const data = new FormData(form);
      resolve(dialog.returnValue === "ok" ? { reason: String(data.get("reason")), text: String(data.get("text") || "").trim() } : null);
    };
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("close", onClose, { once: true });
  });
}
