// Status bar (F8 c, ARIA live) and banners: the last verdict with its undo countdown to the server's final_at,
// messages, "non synchronisé", and the case banners (missing view, lossy source, preview, non-diagnostic).

import { serverNow } from "./net.js";

export class StatusBar {
  constructor(root, strings) {
    this.root = root;
    this.t = strings;
    this.text = root.querySelector("[data-role=status-text]");
    this.countdown = root.querySelector("[data-role=status-countdown]");
    this.sync = root.querySelector("[data-role=status-sync]");
    this.hint = root.querySelector("[data-role=status-hint]");
    this.finalAt = null;
    this.frame = null;
  }

  /** A plain message (replaces the verdict line). */
  say(message) {
    this.stop();
    this.hints([]);
    this.text.textContent = message;
    this.countdown.textContent = "";
  }

  /** F8 e: non-modal hints beside the last verdict ("prior never shown", "decision under 5 s"); never blocking. */
  hints(list) {
    if (!this.hint) return;
    this.hint.textContent = list.length ? `· ${list.join(" · ")}` : "";
    this.hint.hidden = !list.length;
  }

  /** "Cas … — NORMAL (D1/G1) — annuler : Ctrl+Z" with a countdown when final_at is known. */
  verdict(label, finalAtIso) {
    this.stop();
    this.text.textContent = `${this.t.casePrefix} ${label} — ${this.t.undoHint}`;
    this.countdown.textContent = finalAtIso ? "" : this.t.sending;
    if (!finalAtIso) return;
    this.finalAt = Date.parse(finalAtIso);
    const tick = () => {
      const left = Math.max(0, (this.finalAt - serverNow()) / 1000);
      this.countdown.textContent = left > 0 ? `${Math.ceil(left)} s` : this.t.final;
      this.root.dataset.undo = left > 0 ? "open" : "closed";
      if (left > 0) this.frame = setTimeout(tick, 200);
    };
    tick();
  }

  stop() {
    clearTimeout(this.frame);
    this.frame = null;
    this.root.dataset.undo = "";
  }

  unsynced(count, failing) {
    this.sync.hidden = !(count > 0 && failing);
    this.sync.textContent = `${this.t.unsynced} (${count})`;
  }
}

/** The banners above the images; `set(name, text|null)`. The station banner is permanent once shown. */
export class Banners {
  constructor(root) {
    this.root = root;
  }

  set(name, text) {
    let node = this.root.querySelector(`[data-banner="${name}"]`);
    if (!text) {
      if (node && name !== "station") node.remove();
      return;
    }
    if (!node) {
      node = document.createElement("p");
      node.className = `ws-banner ws-banner-${name}`;
      node.dataset.banner = name;
      node.dataset.testid = `banner-${name}`;
      if (name === "station") this.root.prepend(node);
      else this.root.append(node);
    }
    node.textContent = text;
  }
}
