// Image ids, loading and prefetch of the workstation viewer (spec §5 G2, §6): the WADO-RS HTJ2K lossless frame
// of each view (header registered once) or, without one, the original DICOM; decoded images are checked
// against the server's per-frame hash; prefetch decodes N+1 and only fetches N+2/N+3 compressed.
import { headerRegister } from "./viewer-headers.js";
import { verifyPixels } from "./viewer-verify.js";

const signedOf = (meta) => Number(((meta && meta["00280103"]) || {}).Value?.[0] || 0) === 1;

export class ImageStore {
  constructor(viewer) {
    this.viewer = viewer;
    this.loads = new Map(); // imageId → promise of the decoded image
    this.registered = new Set(); // wadors imageIds whose metadata is registered
    this.expected = new Map(); // imageId → {sha, signed}: the server's per-frame hash (G2)
    this.verified = new Map(); // imageId → true | false (mismatch) | null (not checkable)
    this.prefetchChain = Promise.resolve();
  }

  /** WADO-RS HTJ2K lossless frame when the server has one (header registered once), else the original. */
  imageIdOf(view) {
    if (!view.wado) return "wadouri:" + new URL(view.url, window.location.href).href;
    const imageId = "wadors:" + new URL(view.wado.frames_url, window.location.href).href;
    if (!this.registered.has(imageId)) {
      this.viewer.cs.dicomImageLoader.wadors.metaDataManager.add(imageId, view.wado.metadata);
      headerRegister(imageId, view.wado.metadata);
      this.registered.add(imageId);
      this.expected.set(imageId, { sha: view.wado.pixel_sha256, signed: signedOf(view.wado.metadata) });
    }
    return imageId;
  }

  isDecoded(imageId) {
    return !!this.viewer.cs.core.cache.getImage(imageId);
  }

  load(imageId) {
    if (this.isDecoded(imageId)) return Promise.resolve(this.viewer.cs.core.cache.getImage(imageId));
    let promise = this.loads.get(imageId);
    if (!promise) {
      promise = this.viewer.cs.core.imageLoader.loadAndCacheImage(imageId).catch((error) => {
        this.loads.delete(imageId);
        throw error;
      });
      this.loads.set(imageId, promise);
      promise.then((image) => {
        this.loads.delete(imageId);
        this.verify(imageId, image);
      }, () => {});
    }
    return promise;
  }

  verify(imageId, image) {
    const expected = this.expected.get(imageId);
    if (!expected || this.verified.has(imageId)) return;
    verifyPixels(image, expected.sha, expected.signed).then((ok) => {
      this.verified.set(imageId, ok);
      if (ok === false) this.viewer.emit("l2:error", { message: this.viewer.strings.pixelMismatch, imageId });
    });
  }

  /** P5: the decode workers' WASM heaps only grow (~250 MB a case in the renderer, never returned while they
   *  idle), so they are ended while nothing decodes, before N+1's decode: new ones start for N+1, away from
   *  any paint (the current case is lossless; N+1 will paint from the decoded cache and pre-hung spares). */
  recycleDecoders() {
    if (this.loads.size) return;
    try { this.viewer.cs.core.getWebWorkerManager().terminate("dicomImageLoader"); } catch (error) { /* none yet */ }
  }

  /** Prefetch a next case (§6 P4): `decode` (N+1) fetches and decodes current views then priors into the
   *  bounded cache (P5); otherwise (N+2, N+3) only the compressed frames and previews are fetched, into the
   *  browser's HTTP cache (immutable answers), so they cost disk, not tab memory, until they become N+1. */
  prefetch(caseJson, { decode = true } = {}) {
    const started = performance.now();
    const views = [...Object.values(caseJson.views || {}), ...Object.values((caseJson.prior && caseJson.prior.views) || {})];
    const fetchOnly = (url) => fetch(url, { credentials: "same-origin", priority: "low" })
      .then((r) => r.arrayBuffer()).catch(() => null);
    const run = async () => {
      if (decode) {
        this.recycleDecoders();
        await Promise.all(views.map((v) => this.load(this.imageIdOf(v)).catch(() => null)));
        await this.viewer.standby.prepare(caseJson).catch(() => null);
      }
      else await Promise.all(views.map((v) => fetchOnly(v.wado ? v.wado.frames_url : v.url)));
      for (const v of views) if (v.preview_url) new Image().src = v.preview_url;
      this.viewer.emit("l2:prefetch-done", {
        exam_id: caseJson.exam && caseJson.exam.id, ms: Math.round(performance.now() - started), decoded: decode,
        cache_bytes: this.viewer.cs.core.cache.getCacheSize(),
      });
    };
    this.prefetchChain = this.prefetchChain.then(run, run);
    return this.prefetchChain;
  }
}
