// Verdict outbox (F8 e, P8): the UI never waits for the server. Each verdict carries a client UUID (the
// server treats a replay as the same verdict), is sent in order, retried while the network fails, shown as
// "non synchronisé" meanwhile, and closing the page is blocked until it is acknowledged.

import { postJSON } from "./net.js";

const RETRY_MS = [500, 1000, 2000, 4000, 8000, 15000];

export class Outbox {
  /**
   * @param {object} hooks onAck(item, data), onRefused(item, data), onChange({pending, unsynced})
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.items = [];
    this.sending = null;
    this.failures = 0;
    this.timer = null;
    window.addEventListener("beforeunload", (event) => {
      if (!this.items.length) return;
      event.preventDefault();
      event.returnValue = "";
    });
    window.addEventListener("online", () => this.kick());
  }

  get pending() {
    return this.items.length;
  }

  /** Queue a verdict: {uuid, url, body, ...anything the hooks need}. */
  push(item) {
    this.items.push(item);
    this.changed();
    this.kick();
  }

  /** Take back a verdict not yet sent (Ctrl+Z before it left): true if it was still waiting. */
  cancel(uuid) {
    const index = this.items.findIndex((item) => item.uuid === uuid);
    if (index < 0 || this.items[index] === this.sending) return false;
    this.items.splice(index, 1);
    this.changed();
    return true;
  }

  /** Resolves once the verdict with this uuid left the outbox (acknowledged or refused). */
  settled(uuid) {
    const item = this.items.find((it) => it.uuid === uuid);
    if (!item) return Promise.resolve();
    return new Promise((resolve) => (item.waiters = [...(item.waiters || []), resolve]));
  }

  changed() {
    this.hooks.onChange?.({ pending: this.items.length, unsynced: this.failures > 0 && this.items.length > 0 });
  }

  kick() {
    if (this.sending || !this.items.length) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.send(this.items[0]);
  }

  async send(item) {
    this.sending = item;
    let result = null;
    try {
      result = await postJSON(item.url, item.body);
    } catch (error) {
      result = null; // network failure: keep it, retry
    }
    this.sending = null;
    if (result === null || result.status >= 500 || result.status === 429) {
      this.failures += 1;
      this.changed();
      const delay = RETRY_MS[Math.min(this.failures - 1, RETRY_MS.length - 1)];
      this.timer = setTimeout(() => this.kick(), delay);
      return;
    }
    this.failures = 0;
    this.items.splice(this.items.indexOf(item), 1);
    item.ackAt = performance.now();
    if (result.ok) this.hooks.onAck?.(item, result.data);
    else this.hooks.onRefused?.(item, result.data, result.status);
    (item.waiters || []).forEach((resolve) => resolve());
    this.changed();
    this.kick();
  }
}
